// Package mgmt runs the lab's management plane: an embedded etcd and an
// in-process kube-apiserver, both on loopback, with data kept in the lab
// directory so objects survive a restart.
package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// Ports are chosen on the first start and kept, so that a kubeconfig written
// once stays valid for the life of the lab directory.
type Ports struct {
	APIServer  int `json:"apiServer"`
	EtcdClient int `json:"etcdClient"`
	EtcdPeer   int `json:"etcdPeer"`
	// AWS serves the EC2 and ELBv2 simulator.
	AWS int `json:"aws"`
}

// Dir lays out a lab directory.
type Dir string

func (d Dir) Path(elem ...string) string {
	return filepath.Join(append([]string{string(d)}, elem...)...)
}
func (d Dir) PKI() string        { return d.Path("pki") }
func (d Dir) Etcd() string       { return d.Path("etcd") }
func (d Dir) Kubeconfig() string { return d.Path("kubeconfig") }
func (d Dir) PIDFile() string    { return d.Path("lab.pid") }
func (d Dir) LogFile() string    { return d.Path("lab.log") }
func (d Dir) portsFile() string  { return d.Path("ports.json") }

// LoadOrChoosePorts returns the ports saved in the directory, picking free
// loopback ports for any not saved yet (a new directory, or one from an
// older lab) and saving them. preferredAPIServer, when non-zero, fixes the
// API server port on first use.
func (d Dir) LoadOrChoosePorts(preferredAPIServer int) (Ports, error) {
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return Ports{}, err
	}
	p := Ports{APIServer: preferredAPIServer}
	data, err := os.ReadFile(d.portsFile())
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &p); err != nil {
			return p, fmt.Errorf("reading %s: %w", d.portsFile(), err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return p, err
	}
	chose := false
	for _, port := range []*int{&p.APIServer, &p.EtcdClient, &p.EtcdPeer, &p.AWS} {
		if *port != 0 {
			continue
		}
		if *port, err = freePort(); err != nil {
			return p, err
		}
		chose = true
	}
	if !chose {
		return p, nil
	}
	data, _ = json.MarshalIndent(p, "", "  ")
	return p, os.WriteFile(d.portsFile(), data, 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
