package provider

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The provider process is killed in the middle of an apply, after the
// reconcilers have started the control plane instance and before Terraform
// saved any state. The next apply resumes the objects it finds (they carry
// this provider's marks) and converges with no duplicate instance.
//
// This drives the real terraform CLI with the provider binary that `make
// install` puts in bin/plugins, since only a separate process can be killed.
func TestAccCrashedApplyResumes(t *testing.T) {
	labClient(t)
	useLabAWS(t)
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cliConfig := filepath.Join(root, "bin", "terraformrc")
	if _, err := os.Stat(cliConfig); err != nil {
		t.Fatalf("run `make install` first: %v", err)
	}
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		tf = "terraform"
	}
	dir := t.TempDir()
	name := testClusterName()
	write := func(waitFor string) {
		cfg := `terraform {
  required_providers {
    capi = { source = "terraform-capi/capi" }
  }
}
provider "capi" {}
` + strings.Replace(awsClusterConfig(name, `{}`), `wait_for = "provisioned"`, `wait_for = "`+waitFor+`"`, 1)
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) *exec.Cmd {
		cmd := exec.Command(tf, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "KUBE_CONFIG_PATH="+testLab.Kubeconfig, "TF_IN_AUTOMATION=1")
		// Its own process group, so the provider it starts can be killed with it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}
	// An apply that waits for nodes, which never come on the lab.
	write("available")
	if out, err := run("init", "-input=false").CombinedOutput(); err != nil {
		t.Fatalf("terraform init: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := run("destroy", "-auto-approve", "-input=false").CombinedOutput(); err != nil {
			t.Errorf("terraform destroy: %v\n%s", err, out)
		}
		if err := checkNothingLeft(t, client.ObjectKey{Namespace: "default", Name: name})(nil); err != nil {
			t.Error(err)
		}
	})

	apply := run("apply", "-auto-approve", "-input=false")
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	var firstInstance string
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		live, err := testLab.AWSResources()
		for _, r := range live {
			if r.Kind == "instance" && r.Tags["terraform-capi.io/cluster/default/"+name] == "owned" {
				firstInstance = r.ID
			}
		}
		return firstInstance != "", err
	})
	// Kill terraform and its provider, as a crash or a cancelled CI job would.
	_ = syscall.Kill(-apply.Process.Pid, syscall.SIGKILL)
	_ = apply.Wait()
	if err != nil {
		t.Fatalf("no control plane instance before the kill: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "terraform.tfstate")); err == nil {
		data, _ := os.ReadFile(filepath.Join(dir, "terraform.tfstate"))
		if strings.Contains(string(data), `"capi_cluster"`) {
			t.Log("note: the state already held the cluster when the process was killed")
		}
	}

	write("provisioned")
	if out, err := run("apply", "-auto-approve", "-input=false").CombinedOutput(); err != nil {
		t.Fatalf("the apply after the crash: %v\n%s", err, out)
	}
	if err := checkSimulatorHas(t, map[string]int{"instance": 1, "vpc": 1, "loadbalancer": 1, "natgateway": 1})(nil); err != nil {
		t.Fatal(err)
	}
	live, err := testLab.AWSResources()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range live {
		if r.Kind == "instance" && r.ID != firstInstance {
			t.Errorf("instance %s replaced by %s after the crash", firstInstance, r.ID)
		}
	}
	if out, err := run("plan", "-detailed-exitcode", "-input=false").CombinedOutput(); err != nil {
		t.Errorf("plan after the resumed apply is not empty: %v\n%s", err, out)
	}
}
