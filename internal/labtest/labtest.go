// Package labtest starts a capi-lab management plane for a test binary and
// gives tests a client to check what kubectl would show.
package labtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

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

// ManagerBinary is the in-cluster controller manager: $CAPI_MANAGER_BIN,
// or bin/capi-manager at the repository root (what `make manager` builds).
func ManagerBinary() string {
	if b := os.Getenv("CAPI_MANAGER_BIN"); b != "" {
		return b
	}
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "bin", "capi-manager")
}

// Start runs `capi-lab up --detach` in a new temporary directory, with
// extra flags of capi-lab up (StartWithManager's, for one).
func Start(extra ...string) (*Lab, error) {
	bin := Binary()
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("capi-lab binary not found at %s (run `make lab` or set CAPI_LAB_BIN): %w", bin, err)
	}
	// A lab chooses free ports before it binds them, so labs of test
	// packages starting side by side can race for one: a lab that failed
	// to start is retried on new ports.
	var errs []error
	for range 3 {
		dir, err := os.MkdirTemp("", "capi-lab-test-")
		if err != nil {
			return nil, err
		}
		l := &Lab{Dir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"), bin: bin}
		out, err := l.run(append([]string{"up", "--detach"}, extra...)...)
		if err == nil {
			return l, nil
		}
		log, _ := os.ReadFile(filepath.Join(dir, "lab.log"))
		errs = append(errs, fmt.Errorf("capi-lab up: %w\n%s\n%s", err, out, tail(log, 4000)))
		_ = l.Stop()
	}
	return nil, errors.Join(errs...)
}

// ClusterctlBinary is Cluster API's CLI: $CAPI_CLUSTERCTL_BIN, or
// bin/clusterctl at the repository root (what `make clusterctl` builds).
func ClusterctlBinary() string {
	if b := os.Getenv("CAPI_CLUSTERCTL_BIN"); b != "" {
		return b
	}
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "bin", "clusterctl")
}

// StartWithManager starts a lab that runs the in-cluster controller
// manager (ManagerBinary) against its management plane, as a Deployment
// would, with args after the lab's own flags.
func StartWithManager(args ...string) (*Lab, error) {
	flags, err := ManagerFlags(args...)
	if err != nil {
		return nil, err
	}
	return Start(flags...)
}

// ManagerFlags are the flags of capi-lab up that run the in-cluster
// manager with args.
func ManagerFlags(args ...string) ([]string, error) {
	bin := ManagerBinary()
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("capi-manager binary not found at %s (run `make manager` or set CAPI_MANAGER_BIN): %w", bin, err)
	}
	flags := []string{"--manager", bin}
	for _, a := range args {
		flags = append(flags, "--manager-arg", a)
	}
	return flags, nil
}

// SharingClouds are the flags of capi-lab up that make a second
// management plane beside l: it uses l's cloud simulators and workload
// clusters, as two management clusters use one cloud account.
func (l *Lab) SharingClouds() []string { return []string{"--clouds-of", l.Dir} }

// StopManager stops the lab's manager until StartManager.
func (l *Lab) StopManager() error {
	if out, err := l.run("manager", "stop"); err != nil {
		return fmt.Errorf("capi-lab manager stop: %w\n%s", err, out)
	}
	return nil
}

// StartManager starts the lab's manager again after StopManager.
func (l *Lab) StartManager() error {
	if out, err := l.run("manager", "start"); err != nil {
		return fmt.Errorf("capi-lab manager start: %w\n%s", err, out)
	}
	return nil
}

// ManagerLog is what the lab's manager has written so far.
func (l *Lab) ManagerLog() string {
	b, _ := os.ReadFile(filepath.Join(l.Dir, "manager.log"))
	return string(b)
}

// Stop stops the lab and removes its directory.
func (l *Lab) Stop() error {
	if out, err := l.run("down"); err != nil {
		return fmt.Errorf("capi-lab down: %w\n%s", err, out)
	}
	return os.RemoveAll(l.Dir)
}

// AWSEndpoint is the URL of the lab's EC2 and ELBv2 simulator.
func (l *Lab) AWSEndpoint() (string, error) {
	data, err := os.ReadFile(filepath.Join(l.Dir, "ports.json"))
	if err != nil {
		return "", err
	}
	var ports struct {
		AWS int `json:"aws"`
	}
	if err := json.Unmarshal(data, &ports); err != nil {
		return "", err
	}
	return fmt.Sprintf("http://127.0.0.1:%d", ports.AWS), nil
}

// DigitalOceanEndpoint is the URL of the lab's DigitalOcean API
// simulator, as `capi-lab env` prints it (DIGITALOCEAN_API_URL).
func (l *Lab) DigitalOceanEndpoint() (string, error) {
	out, err := l.run("env")
	if err != nil {
		return "", fmt.Errorf("capi-lab env: %w\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "export ")
		if v, ok := strings.CutPrefix(line, "DIGITALOCEAN_API_URL="); ok {
			return strings.Trim(v, `'"`), nil
		}
	}
	return "", errors.New("capi-lab env prints no DIGITALOCEAN_API_URL: the lab has no DigitalOcean simulator")
}

// LiveResource is an entry of the simulator's leak check.
type LiveResource struct {
	Kind  string            `json:"kind"`
	ID    string            `json:"id"`
	State string            `json:"state"`
	Tags  map[string]string `json:"tags"`
}

// AWSResources lists every live resource in the AWS simulator.
func (l *Lab) AWSResources() ([]LiveResource, error) {
	var out []LiveResource
	return out, l.awsControl(http.MethodGet, "/_lab/resources", nil, &out)
}

// AWSCalls returns the simulator's calls per "service:Action".
func (l *Lab) AWSCalls() (map[string]int, error) {
	out := map[string]int{}
	return out, l.awsControl(http.MethodGet, "/_lab/calls", nil, &out)
}

// SetAWSFaults replaces the simulator's injected faults, such as
// [{"action":"RunInstances","rate":0.3,"error":"throttling"}].
func (l *Lab) SetAWSFaults(faults any) error {
	if faults == nil {
		return l.awsControl(http.MethodDelete, "/_lab/faults", nil, nil)
	}
	return l.awsControl(http.MethodPut, "/_lab/faults", faults, nil)
}

// RegisterImage adds an image of the lab's own account to the simulator's
// catalog, with Kubernetes at version ("" for a plain OS image, which boots
// a user's own script but no kubeadm), and returns its ID.
func (l *Lab) RegisterImage(name, version string) (string, error) {
	var out []struct {
		ImageID string `json:"imageId"`
	}
	spec := []map[string]string{{"name": name, "kubernetesVersion": version, "rootDeviceName": "/dev/sda1"}}
	if err := l.awsControl(http.MethodPut, "/_lab/images", spec, &out); err != nil {
		return "", err
	}
	if len(out) != 1 {
		return "", fmt.Errorf("registering image %s: %d images returned", name, len(out))
	}
	return out[0].ImageID, nil
}

func (l *Lab) awsControl(method, path string, in, out any) error {
	endpoint, err := l.AWSEndpoint()
	if err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, endpoint+path, body)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
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

// Main runs a test binary's tests. With TF_ACC set it first starts a lab,
// hands it to use, and stops it after the tests; without, the acceptance
// tests skip as resource.Test does. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(labtest.Main(m, func(l *labtest.Lab) { testLab = l })) }
func Main(m *testing.M, use func(*Lab)) int {
	if os.Getenv("TF_ACC") == "" {
		return m.Run()
	}
	lab, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the lab for acceptance tests:", err)
		return 1
	}
	defer func() {
		if err := lab.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	use(lab)
	return m.Run()
}

// Env returns what `capi-lab env` exports, as NAME=value for an
// exec.Cmd's environment: a terraform or kubectl run against the lab.
func (l *Lab) Env() ([]string, error) {
	out, err := exec.Command(l.bin, "env", "--dir", l.Dir).Output()
	if err != nil {
		return nil, fmt.Errorf("capi-lab env: %w", err)
	}
	var env []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(value, "'") {
			value = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(value, "'"), "'"), `'\''`, "'")
		}
		env = append(env, name+"="+value)
	}
	return env, nil
}
