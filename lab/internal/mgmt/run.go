package mgmt

import (
	"fmt"
	"os"
	"strconv"

	"github.com/terraform-capi/terraform-provider-capi/lab/internal/pki"
)

// Run starts etcd and the API server and blocks until the process is told to
// stop. The kubeconfig is written before the API server starts; callers
// wait for readiness with WaitReady.
func Run(dir Dir, ports Ports) error {
	if err := pki.Ensure(pki.Files{Dir: dir.PKI()}); err != nil {
		return fmt.Errorf("creating PKI: %w", err)
	}
	if err := WriteKubeconfig(dir, ports); err != nil {
		return err
	}
	if err := os.WriteFile(dir.PIDFile(), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return err
	}
	defer os.Remove(dir.PIDFile())

	etcd, err := startEtcd(dir, ports)
	if err != nil {
		return err
	}
	defer etcd.Close()
	return runAPIServer(dir, ports)
}
