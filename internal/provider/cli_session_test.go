package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
)

// providerAddress is the provider's source address in the sessions'
// configurations.
const providerAddress = "registry.terraform.io/terraform-capi/capi"

// cliSession drives a Terraform CLI in a working directory against this
// provider served from the test process, for the commands that
// terraform-plugin-testing does not run (terraform query with
// -generate-config-out, imports by identity) or on a CLI other than
// TF_ACC_TERRAFORM_PATH. Each command gets a provider server of its own,
// as Terraform starts a provider process per command.
type cliSession struct {
	t   *testing.T
	bin string
	dir string
}

// queryCapableTerraform is a Terraform CLI with list resources and
// `terraform query` (1.14 and later): CAPI_TERRAFORM_QUERY_PATH (the
// Makefile builds 1.15.9), else TF_ACC_TERRAFORM_PATH when recent enough.
func queryCapableTerraform(t *testing.T) string {
	t.Helper()
	for _, env := range []string{"CAPI_TERRAFORM_QUERY_PATH", "TF_ACC_TERRAFORM_PATH"} {
		bin := os.Getenv(env)
		if bin == "" {
			continue
		}
		if atLeast(terraformVersion(t, bin), 1, 14) {
			return bin
		}
	}
	t.Fatal("these tests need Terraform 1.14 or later: set CAPI_TERRAFORM_QUERY_PATH (make testacc builds Terraform 1.15.9 into bin/)")
	return ""
}

func terraformVersion(t *testing.T, bin string) string {
	out, err := exec.Command(bin, "version", "-json").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s version -json: %v", bin, err)
	}
	return v.Version
}

func atLeast(version string, major, minor int) bool {
	m := regexp.MustCompile(`^(\d+)\.(\d+)`).FindStringSubmatch(version)
	if m == nil {
		return false
	}
	ma, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return ma > major || (ma == major && mi >= minor)
}

func newCLISession(t *testing.T, bin string) *cliSession {
	t.Helper()
	return &cliSession{t: t, bin: bin, dir: t.TempDir()}
}

// write puts a file into the working directory.
func (s *cliSession) write(name, content string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

func (s *cliSession) read(name string) string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

// run runs one terraform command and returns its output and exit code; a
// failure to run at all fails the test.
func (s *cliSession) run(args ...string) (string, int) {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- tf6server.Serve(providerAddress, providerserver.NewProtocol6(New("test")()),
			tf6server.WithDebug(ctx, reattach, closed),
			tf6server.WithGoPluginLogger(hclog.NewNullLogger()),
			// The provider's logs as in terraform-plugin-testing: by TF_LOG
			// and TF_ACC_LOG_PATH, not to stderr.
			tf6server.WithLoggingSink(s.t))
	}()
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case err := <-serveErr:
		cancel()
		s.t.Fatalf("serving the provider: %v", err)
	}
	defer func() {
		cancel()
		<-closed
		// As main does once Terraform is done with the provider.
		stopping := time.Now()
		Shutdown()
		s.t.Logf("provider shutdown (reconciles in flight finished, leases released) took %s", time.Since(stopping).Round(time.Millisecond))
	}()
	providers, err := json.Marshal(map[string]any{providerAddress: map[string]any{
		"Protocol": string(rc.Protocol), "ProtocolVersion": rc.ProtocolVersion, "Pid": rc.Pid, "Test": true,
		"Addr": map[string]string{"Network": rc.Addr.Network(), "String": rc.Addr.String()},
	}})
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "TF_REATTACH_PROVIDERS="+string(providers), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		s.t.Fatalf("terraform %s: %v", strings.Join(args, " "), err)
	}
	s.t.Logf("terraform %s (exit %d):\n%s", strings.Join(args, " "), code, out.String())
	return out.String(), code
}

// must runs a command that must succeed.
func (s *cliSession) must(args ...string) string {
	s.t.Helper()
	out, code := s.run(args...)
	if code != 0 {
		s.t.Fatalf("terraform %s failed (exit %d)", strings.Join(args, " "), code)
	}
	return out
}
