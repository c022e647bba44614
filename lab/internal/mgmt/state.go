// Package mgmt runs the lab's management plane: an embedded etcd and an
// in-process kube-apiserver, both on loopback, with data kept in the lab
// directory so objects survive a restart.
package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Ports are chosen on the first start and kept, so that a kubeconfig written
// once stays valid for the life of the lab directory.
type Ports struct {
	APIServer  int `json:"apiServer"`
	EtcdClient int `json:"etcdClient"`
	EtcdPeer   int `json:"etcdPeer"`
	// AWS serves the EC2 and ELBv2 simulator.
	AWS int `json:"aws"`
	// DigitalOcean serves the DigitalOcean API simulator.
	DigitalOcean int `json:"digitalOcean"`
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

// cloudsFile names the lab whose cloud simulators this one uses.
func (d Dir) cloudsFile() string { return d.Path("clouds-of") }

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
	ports := []*int{&p.APIServer, &p.EtcdClient, &p.EtcdPeer, &p.AWS, &p.DigitalOcean}
	taken := map[int]bool{}
	for _, port := range ports {
		taken[*port] = true
	}
	for _, port := range ports {
		if *port != 0 {
			continue
		}
		if *port, err = freePort(taken); err != nil {
			return p, err
		}
		taken[*port], chose = true, true
	}
	if !chose {
		return p, nil
	}
	data, _ = json.MarshalIndent(p, "", "  ")
	return p, os.WriteFile(d.portsFile(), data, 0o600)
}

// Free ports are picked below Linux's ephemeral range (32768-60999):
// the kernel never hands those out to outgoing connections, which can take
// a port from the ephemeral range between the moment it is chosen here and
// the moment etcd or the API server binds it (seen with labs of several
// test packages starting side by side).
const (
	minPort = 20000
	maxPort = 32767
)

func freePort(taken map[int]bool) (int, error) {
	for range 200 {
		port := minPort + rand.IntN(maxPort-minPort+1)
		if taken[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		_ = l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port on 127.0.0.1 between %d and %d", minPort, maxPort)
}

// ShareClouds makes this lab a second management plane beside the lab in
// other: its clients (capi-lab env, the manager) reach other's AWS and
// DigitalOcean simulators, and it serves none of its own. Remembered in
// the directory, so a later up shares again; other must have started once.
func (d Dir) ShareClouds(other Dir) error {
	if other == d {
		return fmt.Errorf("a lab cannot share its own clouds (%s)", d)
	}
	data, err := os.ReadFile(other.portsFile())
	if err != nil {
		return fmt.Errorf("no lab in %s to share clouds with: %w", other, err)
	}
	var theirs Ports
	if err := json.Unmarshal(data, &theirs); err != nil {
		return fmt.Errorf("reading %s: %w", other.portsFile(), err)
	}
	if theirs.AWS == 0 || theirs.DigitalOcean == 0 {
		return fmt.Errorf("the lab in %s has no cloud simulators to share", other)
	}
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return err
	}
	ours := Ports{}
	if data, err := os.ReadFile(d.portsFile()); err == nil {
		if err := json.Unmarshal(data, &ours); err != nil {
			return fmt.Errorf("reading %s: %w", d.portsFile(), err)
		}
	}
	ours.AWS, ours.DigitalOcean = theirs.AWS, theirs.DigitalOcean
	data, _ = json.MarshalIndent(ours, "", "  ")
	if err := os.WriteFile(d.portsFile(), data, 0o600); err != nil {
		return err
	}
	return os.WriteFile(d.cloudsFile(), []byte(string(other)+"\n"), 0o600)
}

// SharesCloudsOf is the lab whose clouds this one uses, if any.
func (d Dir) SharesCloudsOf() (Dir, bool) {
	data, err := os.ReadFile(d.cloudsFile())
	if err != nil {
		return "", false
	}
	return Dir(strings.TrimSpace(string(data))), true
}
