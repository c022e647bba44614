package mgmt

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
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
	defer closeEtcd(etcd)
	ctx, stopGC := context.WithCancel(context.Background())
	defer stopGC()
	go runGarbageCollector(ctx, dir)
	return runAPIServer(dir, ports)
}

// closeEtcd stops etcd, giving up after a few seconds: the in-process API
// server leaves its etcd client streams open, and a graceful stop would
// wait for them forever. Every write is already in etcd's WAL.
func closeEtcd(e *embed.Etcd) {
	done := make(chan struct{})
	go func() { e.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}
