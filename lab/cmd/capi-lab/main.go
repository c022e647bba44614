// Command capi-lab runs a self-contained management plane on loopback: a
// real kube-apiserver with etcd, for terraform-provider-capi's quickstart
// and acceptance tests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/terraform-capi/terraform-provider-capi/lab/internal/awssim"
	"github.com/terraform-capi/terraform-provider-capi/lab/internal/dosim"
	"github.com/terraform-capi/terraform-provider-capi/lab/internal/mgmt"
	"github.com/terraform-capi/terraform-provider-capi/lab/internal/spacessim"
	"github.com/terraform-capi/terraform-provider-capi/lab/internal/workload"
)

const usage = `capi-lab runs a Kubernetes management plane, cloud simulators and simulated
workload clusters on loopback.

Usage:
  capi-lab up   [--dir D] [--detach] [--port P] [--boot-delay 2s]
                [--health-check-time-scale 0.1] [--consistency-delay 1s]
                [--do-load-balancer-delay 5s] [--do-load-balancer-ip-delay 2s]
                [--do-vpc-release-delay 5s] [--do-rate-limit 250/5000]
                [--manager PATH [--manager-arg X]...] [--clouds-of D2]
                                                                    start it
  capi-lab down [--dir D]                                           stop it
  capi-lab env  [--dir D]                                           print shell exports for eval
  capi-lab manager stop|start|status [--dir D]                      stop, start or show the manager
  capi-lab image digitalocean VERSION                              print the ID of the DigitalOcean
                                                                    snapshot with Kubernetes VERSION

D defaults to .lab in the current directory. Kubernetes objects persist in D
across restarts; the simulated cloud resources and workload clusters live as
long as the process. An instance that boots with the kubeadm cloud-init that
Cluster API generated joins a simulated workload cluster served at its load
balancer's address (a loopback address, which is also its DNS name).
A droplet does the same behind its DigitalOcean load balancer, whose IP is
a loopback address.
--boot-delay is how long an instance stays pending and a droplet new.
--health-check-time-scale is the share of real time that load balancer
health checks take: 0.1 turns the 5 checks 10 s apart that a control plane
target needs into 5 s, 1 is real AWS and DigitalOcean. It scales the node
monitor grace period too (50 s: 5 s at 0.1). --consistency-delay
is how long a new resource is not found by its ID, as with EC2's eventual
consistency. --do-load-balancer-delay is how long a DigitalOcean load
balancer stays new, --do-load-balancer-ip-delay how long it has no IP,
--do-vpc-release-delay how long a deleted droplet or load balancer keeps its
VPC from being deleted (403, as on DigitalOcean for a while). --do-rate-limit
is DigitalOcean's requests per minute and per hour of a token (429 above
them, with ratelimit-reset); 0/0 turns it off.

--clouds-of D2 makes a second management plane beside the lab in D2: it
serves no cloud simulators of its own, and its clients (capi-lab env, the
manager) use D2's, so that clusterctl move can take clusters from one
management plane to the other with their cloud resources and workload
clusters in place. D2's lab must run for them to answer; the choice is kept
in D for later starts.

--manager runs PATH, a controller manager, as a child of the lab, the way a
Deployment runs it in a management cluster: once the API server is ready,
with the environment capi-lab env prints and the flags --kubeconfig,
--metrics-bind-address and --health-probe-bind-address (free loopback
ports), then each --manager-arg. Its output goes to D/manager.log; while it
runs, D/manager.json has its pid, metrics and health URLs, and capi-lab env
prints CAPI_MANAGER_METRICS_URL. When it exits it is restarted after 2 s.
capi-lab manager stop stops it until capi-lab manager start (D/manager.stopped
meanwhile); capi-lab down stops it before the lab (SIGTERM, SIGKILL after
15 s).

The DigitalOcean API (v2, served at the URL root, any bearer token) refuses
what DigitalOcean refuses: unknown regions, sizes, images and SSH keys,
invalid names and tags, VPC ranges outside RFC 1918 or /16 to /28 or
overlapping another VPC, deleting a default VPC or one with members,
malformed firewall rules, droplet_ids with a tag on a load balancer. A load
balancer's droplets pass its health checks only if it probes a forwarding
rule's target port over TCP or HTTPS: the API's default check, HTTP on port
80, never passes in front of an API server.
Droplet images carry Kubernetes as private snapshots named
cluster-api-ubuntu-2404-<version> (and -2204-); distribution images go by
slug (ubuntu-24-04-x64). Its control API is under /_lab/ on the same port.

The workload simulation is as strict as a real cluster:
  - The API server answers at its load balancer's address only while a
    control plane target behind it is healthy: connections are refused until
    its health checks have passed, and kubeadm joins retry meanwhile.
  - cloud-init renders {{ ds.meta_data.* }} and {{ v1.* }} only under a first
    line "## template: jinja" (on a droplet: instance_id is the droplet ID,
    local_hostname its name, availability_zone its region); a node name that
    is no DNS name fails kubeadm.
  - A node gets spec.providerID only from the kubelet's provider-id flag
    (nodeRegistration.kubeletExtraArgs), or, with cloud-provider=external,
    from the AWS cloud controller manager once it runs in kube-system (on a
    control plane instance with an IAM instance profile and a
    kubernetes.io/cluster/<id> tag), for instances tagged like its own and
    nodes named after their private DNS name. A droplet's node gets one only
    from the flag (digitalocean://<droplet ID>). Without one, Cluster API
    never finds the machine's node.
  - A terminated instance's or deleted droplet's node stays: its kubelet
    stops, and after the node monitor grace period the node is
    Ready=Unknown with the unreachable taints. Only the AWS cloud
    controller manager, where it runs, deletes it (Cluster API deletes it
    with its Machine).
  - Nodes are NotReady ("cni plugin not initialized") and CoreDNS Pending
    until a network plugin's DaemonSet (calico-node, cilium, kube-flannel-ds,
    aws-node, ...) is applied to the workload cluster.
  - The kubelet and kubeadm are the image's: an image without Kubernetes never
    joins ("kubeadm: command not found"), and kubeadm's version checks refuse
    a control plane machine whose image is a minor newer than the cluster, or
    any machine whose image is two minors newer.
  - User data may be a MIME multipart document (gzipped or not) whose
    text/cloud-boothook fetches the bootstrap data from Secrets Manager
    (SECRET_PREFIX=, CHUNKS=, REGION=: the secrets <prefix>-0 ..
    <prefix>-<CHUNKS-1>, gzipped, their SecretBinary in order) and whose
    text/x-include-url names file:///etc/secret-userdata.txt. The instance
    reads and then deletes every chunk with its instance profile's
    credentials (CAPA's node and control plane roles may, on
    aws.cluster.x-k8s.io/*); without a profile, with the metadata endpoint
    disabled, or with a chunk missing, it never joins. With the metadata
    endpoint disabled no user data is read at all.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = up(os.Args[2:])
	case "down":
		err = down(os.Args[2:])
	case "env":
		err = env(os.Args[2:])
	case "manager":
		err = manager(os.Args[2:])
	case "image":
		err = image(os.Args[2:])
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "capi-lab:", err)
		os.Exit(1)
	}
}

func dirFlag(fs *flag.FlagSet) *string {
	return fs.String("dir", ".lab", "lab directory (kubeconfig, PKI, etcd data)")
}

func parse(fs *flag.FlagSet, args []string, dir *string) (mgmt.Dir, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(*dir)
	return mgmt.Dir(abs), err
}

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	d := dirFlag(fs)
	detach := fs.Bool("detach", false, "start in the background and return once the API server is ready")
	port := fs.Int("port", 0, "API server port on first start (default: a free port, kept afterwards)")
	bootDelay := fs.Duration("boot-delay", 2*time.Second, "how long a simulated instance stays pending")
	healthScale := fs.Float64("health-check-time-scale", 0.1, "share of real time that load balancer health checks take (1: as on AWS)")
	consistency := fs.Duration("consistency-delay", time.Second, "how long a new resource is not found by its ID (EC2's eventual consistency)")
	doLBDelay := fs.Duration("do-load-balancer-delay", 5*time.Second, "how long a DigitalOcean load balancer stays new")
	doLBIPDelay := fs.Duration("do-load-balancer-ip-delay", 2*time.Second, "how long a DigitalOcean load balancer has no IP")
	doVPCRelease := fs.Duration("do-vpc-release-delay", 5*time.Second, "how long a deleted droplet or load balancer stays a member of its VPC")
	doRateLimit := fs.String("do-rate-limit", "250/5000", "DigitalOcean's requests a minute/an hour per token (0/0: none)")
	managerPath := fs.String("manager", "", "controller manager executable to run against the lab, restarted when it exits")
	cloudsOf := fs.String("clouds-of", "", "serve no cloud simulators: use those of the lab in this directory (a second management plane)")
	var extraArgs stringList
	fs.Var(&extraArgs, "manager-arg", "an argument for the manager after the lab's (repeatable)")
	dir, err := parse(fs, args, d)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if pid, ok := running(dir); ok {
		fmt.Printf("capi-lab is already running (pid %d) in %s\n", pid, dir)
		return nil
	}
	if *healthScale <= 0 {
		return fmt.Errorf("--health-check-time-scale must be positive, not %g", *healthScale)
	}
	if *managerPath == "" && len(extraArgs) > 0 {
		return errors.New("--manager-arg needs --manager")
	}
	if *managerPath != "" {
		if *managerPath, err = filepath.Abs(*managerPath); err != nil {
			return err
		}
		if fi, err := os.Stat(*managerPath); err != nil {
			return fmt.Errorf("--manager: %w", err)
		} else if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("--manager: %s is no executable file", *managerPath)
		}
	}
	var perMinute, perHour int
	if _, err := fmt.Sscanf(*doRateLimit, "%d/%d", &perMinute, &perHour); err != nil || perMinute < 0 || perHour < 0 {
		return fmt.Errorf("--do-rate-limit must be requests a minute/an hour such as 250/5000, not %q", *doRateLimit)
	}
	awsConfig := awssim.Config{BootDelay: *bootDelay, HealthCheckTimeScale: *healthScale, ConsistencyDelay: *consistency}
	doConfig := dosim.Config{BootDelay: *bootDelay, HealthCheckTimeScale: *healthScale,
		LoadBalancerDelay: *doLBDelay, LoadBalancerIPDelay: *doLBIPDelay, VPCReleaseDelay: *doVPCRelease,
		RateLimitPerMinute: perMinute, RateLimitPerHour: perHour}
	if *cloudsOf != "" {
		other, err := filepath.Abs(*cloudsOf)
		if err != nil {
			return err
		}
		if err := dir.ShareClouds(mgmt.Dir(other)); err != nil {
			return fmt.Errorf("--clouds-of: %w", err)
		}
	}
	if *detach {
		return startDetached(dir, args, *managerPath)
	}
	ports, err := dir.LoadOrChoosePorts(*port)
	if err != nil {
		return err
	}
	if err := serveClouds(dir, ports, awsConfig, doConfig); err != nil {
		return err
	}
	// No lab runs in dir: what a previous one left of its manager is stale.
	for _, f := range []string{managerInfoFile, managerStopFile, managerLabFile} {
		_ = os.Remove(dir.Path(f))
	}
	if *managerPath != "" {
		ctx, cancel := context.WithCancel(context.Background())
		s := &supervisor{dir: dir, path: *managerPath, args: extraArgs,
			env:  append(os.Environ(), envStrings(labEnv(dir, ports))...),
			logf: log.New(os.Stderr, "manager: ", log.LstdFlags).Printf, backoff: managerBackoff, grace: managerGrace,
			ready: func(ctx context.Context) error {
				if err := mgmt.WaitReady(ctx, dir, 3*time.Minute, func() bool { return ctx.Err() == nil }); err != nil {
					return err
				}
				// The API server stops on SIGTERM and SIGINT with its own
				// handler; this one stops the manager meanwhile. Installed
				// any earlier, it would keep a signal from stopping a lab
				// whose API server has not started yet.
				sig := make(chan os.Signal, 1)
				signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
				go func() {
					defer signal.Stop(sig)
					select {
					case <-sig:
						cancel()
					case <-ctx.Done():
					}
				}()
				return nil
			}}
		done := make(chan struct{})
		go func() { defer close(done); s.run(ctx) }()
		// However the API server stops, the lab exits only after the manager.
		defer func() { cancel(); <-done }()
	}
	return mgmt.Run(dir, ports)
}

// serveClouds starts the AWS and DigitalOcean simulators and their
// simulated workload clusters, unless the lab shares another's.
func serveClouds(dir mgmt.Dir, ports mgmt.Ports, awsConfig awssim.Config, doConfig dosim.Config) error {
	if other, ok := dir.SharesCloudsOf(); ok {
		if _, up := running(other); !up {
			log.Printf("the lab in %s, whose clouds this one uses, is not running: its clients get connection refused until it is", other)
		}
		return nil
	}
	sim, do := awssim.New(awsConfig), dosim.New(doConfig)
	if err := simulateWorkloads(sim, do, awsConfig.HealthCheckTimeScale); err != nil {
		return err
	}
	if err := serve("AWS", ports.AWS, sim); err != nil {
		return err
	}
	return serve("DigitalOcean", ports.DigitalOcean, do)
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// simulateWorkloads plays kubeadm on the simulated instances and
// droplets: each load balancer gets its own loopback address, where the
// workload cluster whose control plane endpoint it is will answer.
func simulateWorkloads(sim *awssim.Simulator, do *dosim.Simulator, healthCheckTimeScale float64) error {
	logger := log.New(os.Stderr, "workload: ", log.LstdFlags)
	wl, err := workload.New(context.Background(), funcr.New(func(prefix, args string) { logger.Println(prefix, args) }, funcr.Options{}))
	if err != nil {
		return err
	}
	// Node health runs on the same clock as load balancer health.
	wl.NodeMonitorGracePeriod = time.Duration(float64(workload.DefaultNodeMonitorGracePeriod) * healthCheckTimeScale)
	sim.LoadBalancerAddress = freeLoopbackAddress
	sim.OnLoadBalancerDeleted = wl.HostDeleted
	sim.OnInstanceRunning = func(i awssim.Instance) {
		wl.InstanceRunning(workload.Instance{
			ID: i.ID, PrivateIP: i.PrivateIP, PrivateDNSName: i.PrivateDNSName, AvailabilityZone: i.AvailabilityZone,
			Tags: i.Tags, IAMInstanceProfile: i.IAMInstanceProfile, KubernetesVersion: i.KubernetesVersion, UserData: i.UserData,
			MetadataEndpointDisabled: i.MetadataOptions.HTTPEndpoint == "disabled",
		})
	}
	// Boothooks fetch bootstrap data from the simulator's Secrets Manager
	// with the instance's own credentials.
	wl.SecretsManager = sim
	sim.OnInstanceTerminated = wl.InstanceTerminated
	sim.OnLoadBalancerHealth = wl.LoadBalancerHealth

	do.LoadBalancerAddress = freeLoopbackAddress
	do.OnLoadBalancerDeleted = wl.HostDeleted
	do.OnDropletActive = func(d dosim.Droplet) {
		wl.InstanceRunning(workload.Instance{
			Cloud: workload.DigitalOcean, ID: strconv.Itoa(d.ID), Name: d.Name, Region: d.Region,
			PrivateIP: d.PrivateIP, PublicIP: d.PublicIP, KubernetesVersion: d.KubernetesVersion, UserData: d.UserData,
		})
	}
	do.OnDropletDeleted = func(id int) { wl.InstanceTerminated(strconv.Itoa(id)) }
	do.OnLoadBalancerHealth = wl.LoadBalancerHealth
	// Clients reach a load balancer's address from their public address:
	// the droplets from theirs, the lab's host (Terraform, the provider's
	// reconcilers, kubectl) from 127.0.0.1. AWS's load balancers have no
	// firewall of their own in the lab.
	wl.Admits = func(endpoint, source string) bool {
		host, _, err := net.SplitHostPort(endpoint)
		return err != nil || do.LoadBalancerAdmits(host, source)
	}
	return nil
}

// freeLoopbackAddress picks an address in 127.0.0.0/8 outside 127.0.0.0/16
// on which the API server port is free, so that labs running side by
// side do not collide.
func freeLoopbackAddress() string {
	for {
		ip := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
		if l, err := net.Listen("tcp", net.JoinHostPort(ip, "6443")); err == nil {
			_ = l.Close()
			return ip
		}
	}
}

// serve serves a cloud simulator on a loopback port.
func serve(cloud string, port int, sim http.Handler) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("%s simulator: %w", cloud, err)
	}
	go func() { _ = http.Serve(l, sim) }()
	return nil
}

// startDetached re-executes this binary in its own session with output
// going to the lab's log file, then waits until the API server is ready.
func startDetached(dir mgmt.Dir, args []string, managerPath string) error {
	if err := os.MkdirAll(string(dir), 0o700); err != nil {
		return err
	}
	logFile, err := os.OpenFile(dir.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, foregroundArgs(args, dir, managerPath)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	alive := func() bool {
		select {
		case <-exited:
			return false
		default:
			return true
		}
	}
	start := time.Now()
	if err := mgmt.WaitReady(context.Background(), dir, 3*time.Minute, alive); err != nil {
		return fmt.Errorf("waiting for the API server: %w (log: %s)", err, dir.LogFile())
	}
	fmt.Printf("capi-lab is up (pid %d, ready in %s)\n  kubeconfig: %s\n  eval \"$(capi-lab env --dir %s)\"\n",
		cmd.Process.Pid, time.Since(start).Round(100*time.Millisecond), dir.Kubeconfig(), dir)
	if managerPath == "" {
		return nil
	}
	// Until manager.json exists capi-lab env has no metrics URL to print.
	for deadline := time.Now().Add(30 * time.Second); alive() && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if info, ok := liveManager(dir); ok {
			fmt.Printf("  manager: pid %d, metrics %s, output %s\n", info.PID, info.Metrics, dir.Path(managerLogFile))
			return nil
		}
	}
	return fmt.Errorf("the manager did not start (log: %s)", dir.LogFile())
}

// foregroundArgs are the flags of a detached up for the process that runs
// the lab: the same, then what overrides them, as the last of a flag wins:
// no --detach, the directory and the manager absolute.
func foregroundArgs(args []string, dir mgmt.Dir, managerPath string) []string {
	foreground := append(append([]string{"up"}, args...), "--detach=false", "--dir", string(dir))
	if managerPath != "" {
		foreground = append(foreground, "--manager", managerPath)
	}
	return foreground
}

func down(args []string) error {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	dir, err := parse(fs, args, dirFlag(fs))
	if err != nil {
		return err
	}
	pid, ok := running(dir)
	if !ok {
		fmt.Println("capi-lab is not running in", dir)
		return nil
	}
	// The manager first, while the API server still answers: nothing
	// reconciles against a vanishing one, and a manager stopping gracefully
	// can release its leader lease.
	if supervising(dir) == nil {
		if ran, err := stopManager(dir); err != nil {
			return err
		} else if ran {
			fmt.Println("manager stopped")
		}
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return err
	}
	// A graceful stop takes a few seconds. Past 30s, kill: etcd has every
	// write in its WAL already.
	for _, step := range []struct {
		wait time.Duration
		kill bool
	}{{30 * time.Second, true}, {10 * time.Second, false}} {
		deadline := time.Now().Add(step.wait)
		for time.Now().Before(deadline) {
			if !alive(pid) {
				fmt.Println("capi-lab stopped")
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		if step.kill {
			fmt.Fprintf(os.Stderr, "capi-lab: pid %d still running after %s: killing it\n", pid, step.wait)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return fmt.Errorf("pid %d did not stop", pid)
}

func env(args []string) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	dir, err := parse(fs, args, dirFlag(fs))
	if err != nil {
		return err
	}
	vars, err := exports(dir)
	if err != nil {
		return err
	}
	for _, v := range vars {
		fmt.Printf("export %s=%s\n", v.Name, shellWord(v.Value))
	}
	return nil
}

// exports are what capi-lab env prints.
func exports(dir mgmt.Dir) ([]envVar, error) {
	if _, err := os.Stat(dir.Kubeconfig()); err != nil {
		return nil, fmt.Errorf("no lab in %s: run 'capi-lab up --detach --dir %s' first", dir, dir)
	}
	ports, err := dir.LoadOrChoosePorts(0)
	if err != nil {
		return nil, err
	}
	vars := labEnv(dir, ports)
	if info, err := readManagerInfo(dir); err == nil {
		vars = append(vars, envVar{"CAPI_MANAGER_METRICS_URL", info.Metrics})
	}
	return vars, nil
}

type envVar struct{ Name, Value string }

// labEnv is the environment of a client of the lab: a user's shell after
// capi-lab env, and the manager.
func labEnv(dir mgmt.Dir, ports mgmt.Ports) []envVar {
	return []envVar{
		{"KUBECONFIG", dir.Kubeconfig()},
		// The AWS SDKs' standard configuration reaches the simulator through
		// these; the credentials are placeholders the simulator accepts.
		{"AWS_ENDPOINT_URL", fmt.Sprintf("http://127.0.0.1:%d", ports.AWS)},
		{"AWS_ACCESS_KEY_ID", "capi-lab"},
		{"AWS_SECRET_ACCESS_KEY", "capi-lab"},
		{"AWS_REGION", "us-east-1"},
		// godo and Cluster API's DigitalOcean provider take the API's URL from
		// DIGITALOCEAN_API_URL; it must end at the root, as godo sends some
		// paths absolute. The simulator takes any token.
		{"DIGITALOCEAN_API_URL", fmt.Sprintf("http://127.0.0.1:%d/", ports.DigitalOcean)},
		{"DIGITALOCEAN_TOKEN", "capi-lab"},
		{"DIGITALOCEAN_ACCESS_TOKEN", "capi-lab"},
		// Spaces is served on the same address, off the API's /v2/ paths,
		// with the simulator's one key.
		{"SPACES_ENDPOINT_URL", fmt.Sprintf("http://127.0.0.1:%d", ports.DigitalOcean)},
		{"SPACES_ACCESS_KEY_ID", spacessim.AccessKeyID},
		{"SPACES_SECRET_ACCESS_KEY", spacessim.SecretAccessKey},
	}
}

// envStrings are vars as NAME=value, for exec.Cmd.Env.
func envStrings(vars []envVar) []string {
	s := make([]string, len(vars))
	for i, v := range vars {
		s[i] = v.Name + "=" + v.Value
	}
	return s
}

// running reports the pid of a live lab process for dir.
func running(dir mgmt.Dir) (int, bool) {
	data, err := os.ReadFile(dir.PIDFile())
	if errors.Is(err, os.ErrNotExist) || err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if !alive(pid) {
		return 0, false
	}
	return pid, true
}

// alive reports whether pid runs. An exited lab whose parent is gone may
// linger as a zombie until something reaps it: that counts as stopped.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// shellWord is s for a shell command line: as it is if nothing in it is
// special to the shell, else quoted.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// image prints the ID of a catalog image with a Kubernetes version: what a
// configuration names as a droplet's image (IDs are stable across labs).
func image(args []string) error {
	if len(args) != 2 || args[0] != "digitalocean" {
		return errors.New("usage: capi-lab image digitalocean VERSION")
	}
	if !slices.Contains(dosim.KubernetesVersions, args[1]) {
		return fmt.Errorf("no DigitalOcean image with Kubernetes %s; the catalog has %s", args[1], strings.Join(dosim.KubernetesVersions, ", "))
	}
	fmt.Println(dosim.ImageID(dosim.KubernetesImageName("2404", args[1])))
	return nil
}
