package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"mime/multipart"
	"net"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/digitalocean/godo"
	"golang.org/x/oauth2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	"sigs.k8s.io/cluster-api/bootstrap/kubeadm/pkg/cloudinit"
	"sigs.k8s.io/cluster-api/util/secret"

	"github.com/terraform-capi/terraform-provider-capi/lab/internal/awssim"
	"github.com/terraform-capi/terraform-provider-capi/lab/internal/dosim"
	"github.com/terraform-capi/terraform-provider-capi/lab/internal/mgmt"
)

// A droplet booting with Cluster API's kubeadm cloud-init behind a
// DigitalOcean load balancer becomes the control plane of a workload
// cluster served at the load balancer's IP, once its health checks
// pass, with the node named and identified as Cluster API's DigitalOcean
// templates ask.
func TestDropletControlPlaneAnswersAtItsLoadBalancer(t *testing.T) {
	do := dosim.New(dosim.Config{HealthCheckTimeScale: 0.01})
	if err := simulateWorkloads(awssim.New(awssim.Config{}), do, 0.01); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(do)
	defer srv.Close()
	hc := oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "capi-lab"}))
	client, err := godo.New(hc, godo.SetBaseURL(srv.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lb, _, err := client.LoadBalancers.Create(ctx, &godo.LoadBalancerRequest{
		Name: "c1-apiserver", Region: "fra1", Tag: "c1:apiserver",
		ForwardingRules: []godo.ForwardingRule{{EntryProtocol: "tcp", EntryPort: 6443, TargetProtocol: "tcp", TargetPort: 6443}},
		HealthCheck:     &godo.HealthCheck{Protocol: "tcp", Port: 6443},
	})
	if err != nil {
		t.Fatal(err)
	}
	for lb.IP == "" {
		time.Sleep(50 * time.Millisecond)
		if lb, _, err = client.LoadBalancers.Get(ctx, lb.ID); err != nil {
			t.Fatal(err)
		}
	}
	endpoint := net.JoinHostPort(lb.IP, "6443")

	certs := secret.NewCertificatesForInitialControlPlane(&bootstrapv1.ClusterConfiguration{})
	if err := certs.Generate(); err != nil {
		t.Fatal(err)
	}
	userData, err := cloudinit.NewInitControlPlane(&cloudinit.ControlPlaneInput{
		Certificates: certs,
		ClusterConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n" +
			"controlPlaneEndpoint: " + endpoint + "\nkubernetesVersion: v1.36.3\n",
		InitConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n" +
			"  name: '{{ ds.meta_data[\"local_hostname\"] }}'\n" +
			"  kubeletExtraArgs:\n  - name: provider-id\n    value: 'digitalocean://{{ ds.meta_data[\"instance_id\"] }}'\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := client.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "c1-cp-x7k2p", Region: "fra1", Size: "s-2vcpu-4gb",
		Image:    godo.DropletCreateImage{ID: dosim.ImageID(dosim.KubernetesImageName("2404", "v1.36.3"))},
		UserData: string(userData), Tags: []string{"c1:apiserver"}})
	if err != nil {
		t.Fatal(err)
	}

	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "https://" + endpoint, Timeout: 2 * time.Second,
		TLSClientConfig: rest.TLSClientConfig{CAData: certs.GetByPurpose(secret.ClusterCA).KeyPair.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		n, err := cs.CoreV1().Nodes().Get(ctx, "c1-cp-x7k2p", metav1.GetOptions{})
		if err == nil {
			if n.Spec.ProviderID != "digitalocean://"+strconv.Itoa(d.ID) {
				t.Fatalf("provider ID %q", n.Spec.ProviderID)
			}
			break
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("the workload API server never answered at %s with the droplet's node: %v", endpoint, last)
		}
	}

	// Deleting the load balancer takes the endpoint away.
	if _, err := client.LoadBalancers.Delete(ctx, lb.ID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", endpoint, time.Second)
		if err != nil {
			break
		}
		_ = conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the endpoint still answers without its load balancer")
		}
	}
}

// An EC2 control plane machine whose bootstrap data is in Secrets
// Manager, behind the boothook that fetches it, becomes the control plane
// of a workload cluster at its load balancer's address, and leaves no
// secret behind.
func TestEC2ControlPlaneBootsFromSecretsManager(t *testing.T) {
	sim := awssim.New(awssim.Config{Region: "eu-west-1", HealthCheckTimeScale: 0.01})
	if err := simulateWorkloads(sim, dosim.New(dosim.Config{}), 0.01); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL)}
	ec2c, elb, sm := ec2.NewFromConfig(cfg), elbv2.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	must(err)
	sn, err := ec2c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.0.0/20"), AvailabilityZone: aws.String("eu-west-1a")})
	must(err)
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("c1-apiserver"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
		Subnets: []string{*sn.Subnet.SubnetId}})
	must(err)
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("c1-apiserver"), Protocol: elbv2types.ProtocolEnumTcp,
		Port: aws.Int32(6443), VpcId: vpc.Vpc.VpcId, TargetType: elbv2types.TargetTypeEnumInstance})
	must(err)
	_, err = elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbv2types.ProtocolEnumTcp,
		Port: aws.Int32(6443), DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroups[0].TargetGroupArn}}})
	must(err)
	endpoint := net.JoinHostPort(*lb.LoadBalancers[0].DNSName, "6443")

	certs := secret.NewCertificatesForInitialControlPlane(&bootstrapv1.ClusterConfiguration{})
	must(certs.Generate())
	initData, err := cloudinit.NewInitControlPlane(&cloudinit.ControlPlaneInput{
		Certificates: certs,
		ClusterConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n" +
			"controlPlaneEndpoint: " + endpoint + "\nkubernetesVersion: v1.36.3\n",
		InitConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n" +
			"  name: '{{ ds.meta_data.local_hostname }}'\n",
	})
	must(err)

	// The provider's way: gzip, chunks under Secrets Manager's limit,
	// and user data that is only the boothook and its include.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(initData)
	must(zw.Close())
	const prefix = "aws.cluster.x-k8s.io/3b9e2c1d-machine-uid"
	chunks := 0
	for data := gz.Bytes(); len(data) > 0; chunks++ {
		n := min(len(data), 4096)
		_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("%s-%d", prefix, chunks)), SecretBinary: data[:n]})
		must(err)
		data = data[n:]
	}
	script := fmt.Sprintf("#!/bin/bash\nSECRET_PREFIX=%q\nCHUNKS=%q\nREGION=%q\n"+
		"for i in $(seq 0 $((CHUNKS - 1))); do aws secretsmanager get-secret-value --region \"$REGION\" --secret-id \"${SECRET_PREFIX}-${i}\" "+
		"--query SecretBinary --output text | base64 -d >> /etc/secret-userdata.txt.gz; done\n", prefix, strconv.Itoa(chunks), "eu-west-1")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, part := range [][2]string{{"text/cloud-boothook", script}, {"text/x-include-url", "file:///etc/secret-userdata.txt\n"}} {
		pw, err := w.CreatePart(textproto.MIMEHeader{"Content-Type": {part[0]}})
		must(err)
		_, _ = pw.Write([]byte(part[1]))
	}
	must(w.Close())
	userData := append([]byte("Content-Type: multipart/mixed; boundary=\""+w.Boundary()+"\"\nMIME-Version: 1.0\n\n"), body.Bytes()...)

	run, err := ec2c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(awssim.ImageID("capa-ami-ubuntu-24.04-v1.36.3-1764500000")),
		InstanceType: ec2types.InstanceTypeT3Medium, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: sn.Subnet.SubnetId,
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String(awssim.CAPAInstanceProfiles[0])},
		MetadataOptions:    &ec2types.InstanceMetadataOptionsRequest{HttpTokens: ec2types.HttpTokensStateRequired},
		UserData:           aws.String(base64.StdEncoding.EncodeToString(userData))})
	must(err)
	_, err = elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tg.TargetGroups[0].TargetGroupArn,
		Targets: []elbv2types.TargetDescription{{Id: run.Instances[0].InstanceId}}})
	must(err)

	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "https://" + endpoint, Timeout: 2 * time.Second,
		TLSClientConfig: rest.TLSClientConfig{CAData: certs.GetByPurpose(secret.ClusterCA).KeyPair.Cert}})
	must(err)
	var last error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil && len(nodes.Items) == 1 {
			break
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("the workload API server never answered at %s with the instance's node: %v", endpoint, last)
		}
	}
	calls := sim.Calls()
	if calls["secretsmanager:GetSecretValue"] != chunks || calls["secretsmanager:DeleteSecret"] != chunks {
		t.Errorf("calls = %v, want %d reads and deletions", calls, chunks)
	}
	for _, r := range sim.Resources() {
		if r.Kind == "secret" {
			t.Errorf("secret left: %+v", r)
		}
	}
}

// What capi-lab env prints and the manager gets, in order.
func TestLabEnv(t *testing.T) {
	dir := mgmt.Dir("/tmp/lab")
	got := labEnv(dir, mgmt.Ports{AWS: 20001, DigitalOcean: 20002})
	want := []envVar{
		{"KUBECONFIG", "/tmp/lab/kubeconfig"},
		{"AWS_ENDPOINT_URL", "http://127.0.0.1:20001"},
		{"AWS_ACCESS_KEY_ID", "capi-lab"},
		{"AWS_SECRET_ACCESS_KEY", "capi-lab"},
		{"AWS_REGION", "us-east-1"},
		{"DIGITALOCEAN_API_URL", "http://127.0.0.1:20002/"},
		{"DIGITALOCEAN_TOKEN", "capi-lab"},
		{"DIGITALOCEAN_ACCESS_TOKEN", "capi-lab"},
		{"SPACES_ENDPOINT_URL", "http://127.0.0.1:20002"},
		{"SPACES_ACCESS_KEY_ID", "capi-lab-spaces"},
		{"SPACES_SECRET_ACCESS_KEY", "capi-lab-spaces-secret"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("labEnv = %v\nwant %v", got, want)
	}
	if s := envStrings(got[:2]); !slices.Equal(s, []string{"KUBECONFIG=/tmp/lab/kubeconfig", "AWS_ENDPOINT_URL=http://127.0.0.1:20001"}) {
		t.Errorf("envStrings = %q", s)
	}
}

// capi-lab env adds the manager's metrics URL while manager.json exists.
func TestExportsWithManager(t *testing.T) {
	dir := mgmt.Dir(t.TempDir())
	if _, err := exports(dir); err == nil {
		t.Fatal("exports of a directory without a lab")
	}
	if err := os.WriteFile(dir.Kubeconfig(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	vars, err := exports(dir)
	if err != nil || len(vars) != 11 {
		t.Fatalf("exports = %v, %v", vars, err)
	}
	if err := writeManagerInfo(dir, managerInfo{PID: 1, Metrics: "http://127.0.0.1:20003/metrics"}); err != nil {
		t.Fatal(err)
	}
	vars, err = exports(dir)
	if err != nil || len(vars) != 12 || vars[11] != (envVar{"CAPI_MANAGER_METRICS_URL", "http://127.0.0.1:20003/metrics"}) {
		t.Fatalf("exports = %v, %v", vars, err)
	}
}

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/lab/kubeconfig":    "/tmp/lab/kubeconfig",
		"http://127.0.0.1:1/":    "http://127.0.0.1:1/",
		"/tmp/my lab/kubeconfig": "'/tmp/my lab/kubeconfig'",
		"it's":                   `'it'\''s'`,
		"":                       "''",
		"$HOME":                  "'$HOME'",
	} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestManagerArgs(t *testing.T) {
	got := managerArgs("/lab/kubeconfig", 20010, 20011, []string{"--leader-elect", "--v=2"})
	want := []string{"--kubeconfig", "/lab/kubeconfig", "--metrics-bind-address", "127.0.0.1:20010",
		"--health-probe-bind-address", "127.0.0.1:20011", "--leader-elect", "--v=2"}
	if !slices.Equal(got, want) {
		t.Errorf("managerArgs = %q", got)
	}
}

// A detached up runs the lab with the same flags but --detach, and with
// the directory and the manager absolute.
func TestForegroundArgs(t *testing.T) {
	got := foregroundArgs([]string{"--detach", "--dir", ".lab", "--manager", "bin/m", "--manager-arg", "--detach"}, "/w/.lab", "/w/bin/m")
	want := []string{"up", "--detach", "--dir", ".lab", "--manager", "bin/m", "--manager-arg", "--detach",
		"--detach=false", "--dir", "/w/.lab", "--manager", "/w/bin/m"}
	if !slices.Equal(got, want) {
		t.Errorf("foregroundArgs = %q", got)
	}
	// As up parses them: --detach as a --manager-arg's value is kept.
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	detach, dir, m := fs.Bool("detach", false, ""), fs.String("dir", "", ""), fs.String("manager", "", "")
	var extra stringList
	fs.Var(&extra, "manager-arg", "")
	if err := fs.Parse(got[1:]); err != nil || *detach || *dir != "/w/.lab" || *m != "/w/bin/m" || !slices.Equal(extra, stringList{"--detach"}) {
		t.Errorf("parsed: %v detach=%v dir=%s manager=%s args=%q", err, *detach, *dir, *m, extra)
	}
}

func TestManagerInfoRoundTrip(t *testing.T) {
	dir := mgmt.Dir(t.TempDir())
	if _, err := readManagerInfo(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("readManagerInfo without manager.json: %v", err)
	}
	info := managerInfo{PID: 42, Metrics: "http://127.0.0.1:20010/metrics", Health: "http://127.0.0.1:20011/healthz", Path: "/w/bin/capi-manager"}
	if err := writeManagerInfo(dir, info); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(dir.Path("manager.json"))
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil || len(fields) != 4 || fields["pid"] != 42.0 || fields["metrics"] != info.Metrics ||
		fields["health"] != info.Health || fields["path"] != info.Path {
		t.Errorf("manager.json = %s (%v)", data, err)
	}
	if got, err := readManagerInfo(dir); err != nil || got != info {
		t.Errorf("readManagerInfo = %+v, %v", got, err)
	}
}

// up refuses a manager it could not run before it starts anything.
func TestUpChecksTheManager(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "m")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--manager-arg", "--v=2"},
		{"--manager", filepath.Join(dir, "missing")},
		{"--manager", notExec},
		{"--manager", dir},
	} {
		if err := up(append(args, "--dir", dir)); err == nil {
			t.Errorf("up %q: no error", args)
		}
	}
}

// The manager subcommands need a lab that runs with --manager.
func TestManagerCommandsNeedAManager(t *testing.T) {
	dir := mgmt.Dir(t.TempDir())
	if err := manager([]string{"status", "--dir", string(dir)}); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("status without a lab: %v", err)
	}
	// This test's process stands for the lab.
	if err := os.WriteFile(dir.PIDFile(), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"stop", "start", "status"} {
		if err := manager([]string{cmd, "--dir", string(dir)}); err == nil || !strings.Contains(err.Error(), "without --manager") {
			t.Errorf("%s in a lab without --manager: %v", cmd, err)
		}
	}
	if err := manager([]string{"restart", "--dir", string(dir)}); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("restart: %v", err)
	}
	if exists(dir.Path(managerStopFile)) {
		t.Error("stop in a lab without --manager left a marker")
	}
}

// fakeManager writes a shell script that stands for the manager: it
// records its arguments and environment in out and a SIGTERM in
// out/signals, and runs until signalled (ignoring SIGTERM if asked to).
func fakeManager(t *testing.T, ignoreTERM bool) (path, out string) {
	t.Helper()
	out = t.TempDir()
	trap := `trap 'echo TERM >> "$FAKE_OUT/signals"; exit 0' TERM`
	if ignoreTERM {
		trap = `trap '' TERM`
	}
	path = filepath.Join(t.TempDir(), "capi-manager")
	script := "#!/bin/sh\necho \"$*\" >> \"$FAKE_OUT/args\"\nenv > \"$FAKE_OUT/env\"\n" + trap + "\nwhile :; do sleep 0.1; done\n"
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path, out
}

// startSupervisor runs a supervisor of path in a lab directory whose lab
// is this test's process, released is closed when ready returns.
func startSupervisor(t *testing.T, path, out string, grace time.Duration, release <-chan struct{}) (mgmt.Dir, context.CancelFunc, <-chan struct{}) {
	t.Helper()
	dir := mgmt.Dir(t.TempDir())
	if err := os.WriteFile(dir.PIDFile(), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &supervisor{dir: dir, path: path, args: []string{"--leader-elect", "--v=2"},
		// The lab's environment wins over the process's.
		env: append([]string{"KUBECONFIG=/elsewhere", "PATH=" + os.Getenv("PATH"), "FAKE_OUT=" + out},
			envStrings(labEnv(dir, mgmt.Ports{AWS: 20001, DigitalOcean: 20002}))...),
		ready: func(ctx context.Context) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		logf: t.Logf, backoff: 200 * time.Millisecond, grace: grace}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return dir, cancel, done
}

// waitManager waits for a running manager other than pid not.
func waitManager(t *testing.T, dir mgmt.Dir, not int, within time.Duration) managerInfo {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if info, ok := liveManager(dir); ok && info.PID != not {
			return info
		}
	}
	t.Fatalf("no manager (other than pid %d) within %s", not, within)
	return managerInfo{}
}

func waitStopped(t *testing.T, done <-chan struct{}, within time.Duration) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(within):
		t.Fatalf("the supervisor did not return within %s", within)
	}
}

// The supervisor starts the manager once the API server is ready, with
// the lab's flags and environment, restarts it when it crashes, leaves it
// stopped after manager stop and down's stop until manager start, and
// stops it when the lab stops.
func TestSupervisor(t *testing.T) {
	path, out := fakeManager(t, false)
	release := make(chan struct{})
	dir, cancel, done := startSupervisor(t, path, out, 5*time.Second, release)

	time.Sleep(3 * managerPoll)
	if exists(dir.Path(managerInfoFile)) {
		t.Fatal("the manager started before the API server was ready")
	}
	if err := manager([]string{"status", "--dir", string(dir)}); err != nil {
		t.Fatalf("status before the manager started: %v", err)
	}
	close(release)

	first := waitManager(t, dir, 0, 5*time.Second)
	var metrics, health int
	if _, err := fmt.Sscanf(first.Metrics, "http://127.0.0.1:%d/metrics", &metrics); err != nil {
		t.Fatalf("metrics URL %q", first.Metrics)
	}
	if _, err := fmt.Sscanf(first.Health, "http://127.0.0.1:%d/healthz", &health); err != nil || health == metrics {
		t.Fatalf("health URL %q (metrics %q)", first.Health, first.Metrics)
	}
	if first.Path != path {
		t.Errorf("path %q, want %q", first.Path, path)
	}
	var args, environ []byte
	for deadline := time.Now().Add(5 * time.Second); len(environ) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		args, _ = os.ReadFile(filepath.Join(out, "args"))
		environ, _ = os.ReadFile(filepath.Join(out, "env"))
	}
	if want := strings.Join(managerArgs(dir.Kubeconfig(), metrics, health, []string{"--leader-elect", "--v=2"}), " ") + "\n"; string(args) != want {
		t.Errorf("arguments %q, want %q", args, want)
	}
	for _, v := range []string{"KUBECONFIG=" + dir.Kubeconfig(), "DIGITALOCEAN_TOKEN=capi-lab", "AWS_ENDPOINT_URL=http://127.0.0.1:20001"} {
		if !slices.Contains(strings.Split(string(environ), "\n"), v) {
			t.Errorf("environment without %s:\n%s", v, environ)
		}
	}

	// A crash: restarted after the backoff, with the same URLs.
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	second := waitManager(t, dir, first.PID, 5*time.Second)
	if second.Metrics != first.Metrics || second.Health != first.Health {
		t.Errorf("restarted with %+v, was %+v", second, first)
	}

	// manager stop: SIGTERM, and no restart.
	if err := manager([]string{"stop", "--dir", string(dir)}); err != nil {
		t.Fatal(err)
	}
	if alive(second.PID) || exists(dir.Path(managerInfoFile)) {
		t.Fatal("the manager runs after manager stop")
	}
	if signals, _ := os.ReadFile(filepath.Join(out, "signals")); string(signals) != "TERM\n" {
		t.Errorf("signals %q, want one SIGTERM", signals)
	}
	time.Sleep(4 * managerPoll)
	if exists(dir.Path(managerInfoFile)) {
		t.Fatal("the manager was restarted after manager stop")
	}
	if err := manager([]string{"status", "--dir", string(dir)}); err != nil {
		t.Fatal(err)
	}

	// manager start: running again within about a second.
	start := time.Now()
	if err := manager([]string{"start", "--dir", string(dir)}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("manager start took %s", took)
	}
	third := waitManager(t, dir, second.PID, time.Second)

	// What down does before it stops the lab.
	if ran, err := stopManager(dir); err != nil || !ran {
		t.Fatalf("stopManager = %v, %v", ran, err)
	}
	time.Sleep(4 * managerPoll)
	if alive(third.PID) || exists(dir.Path(managerInfoFile)) {
		t.Fatal("the manager runs after down's stop")
	}

	// The lab stopping stops the manager, and the supervisor's record goes.
	if err := manager([]string{"start", "--dir", string(dir)}); err != nil {
		t.Fatal(err)
	}
	fourth := waitManager(t, dir, third.PID, time.Second)
	cancel()
	waitStopped(t, done, 5*time.Second)
	if alive(fourth.PID) || exists(dir.Path(managerInfoFile)) || exists(dir.Path(managerLabFile)) {
		t.Error("the manager or its files outlive the supervisor")
	}
	if signals, _ := os.ReadFile(filepath.Join(out, "signals")); string(signals) != "TERM\nTERM\nTERM\n" {
		t.Errorf("signals %q, want three SIGTERMs", signals)
	}
}

// A manager that ignores SIGTERM is killed after the grace period.
func TestSupervisorKillsAfterGrace(t *testing.T) {
	path, out := fakeManager(t, true)
	release := make(chan struct{})
	close(release)
	dir, cancel, done := startSupervisor(t, path, out, 300*time.Millisecond, release)
	info := waitManager(t, dir, 0, 5*time.Second)
	start := time.Now()
	cancel()
	waitStopped(t, done, 5*time.Second)
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("stopped in %s, before the grace period", took)
	}
	if alive(info.PID) {
		t.Error("the manager outlives the supervisor")
	}
}
