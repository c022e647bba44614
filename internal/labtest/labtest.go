// Package labtest starts a capi-lab management plane for a test binary and
// gives tests a client to check what kubectl would show.
package labtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Lab is a running capi-lab in a temporary directory.
type Lab struct {
	Dir        string
	Kubeconfig string
	bin        string
}

// Binary is the capi-lab binary: $CAPI_LAB_BIN, or bin/capi-lab at the
// repository root (what `make lab` builds).
func Binary() string {
	if b := os.Getenv("CAPI_LAB_BIN"); b != "" {
		return b
	}
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "bin", "capi-lab")
}

// Start runs `capi-lab up --detach` in a new temporary directory.
func Start() (*Lab, error) {
	bin := Binary()
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("capi-lab binary not found at %s (run `make lab` or set CAPI_LAB_BIN): %w", bin, err)
	}
	dir, err := os.MkdirTemp("", "capi-lab-test-")
	if err != nil {
		return nil, err
	}
	l := &Lab{Dir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"), bin: bin}
	if out, err := l.run("up", "--detach"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "lab.log"))
		return nil, fmt.Errorf("capi-lab up: %w\n%s\n%s", err, out, tail(log, 4000))
	}
	return l, nil
}

// Stop stops the lab and removes its directory.
func (l *Lab) Stop() error {
	if out, err := l.run("down"); err != nil {
		return fmt.Errorf("capi-lab down: %w\n%s", err, out)
	}
	return os.RemoveAll(l.Dir)
}

// RESTConfig returns the admin connection to the lab's management cluster.
func (l *Lab) RESTConfig() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", l.Kubeconfig)
}

// Client returns a client for the lab's management cluster that knows the
// kinds of scheme.
func (l *Lab) Client(scheme *runtime.Scheme) (client.WithWatch, error) {
	cfg, err := l.RESTConfig()
	if err != nil {
		return nil, err
	}
	return client.NewWithWatch(cfg, client.Options{Scheme: scheme})
}

func (l *Lab) run(args ...string) ([]byte, error) {
	cmd := exec.Command(l.bin, append(args, "--dir", l.Dir)...)
	return cmd.CombinedOutput()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}
