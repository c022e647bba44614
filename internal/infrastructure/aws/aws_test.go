package aws

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/crds"
	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	"github.com/terraform-capi/terraform-provider-capi/internal/engine/enginetest"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/labtest"
)

var (
	testLab *labtest.Lab
	// timingErr is why the lab's timing could not be set.
	timingErr error
)

// testConsistencyDelay is how long the simulator does not know a new
// resource by ID, as EC2 does for some seconds: every test runs with it.
const testConsistencyDelay = "1s"

func TestMain(m *testing.M) {
	os.Exit(labtest.Main(m, func(l *labtest.Lab) {
		testLab = l
		timingErr = setAWSTiming(map[string]any{"consistencyDelay": testConsistencyDelay, "healthCheckTimeScale": testHealthCheckTimeScale})
	}))
}

// testHealthCheckTimeScale makes the load balancer's health checks take
// a twentieth of real time: CAPA's 5 checks 10 s apart take 2.5 s.
const testHealthCheckTimeScale = 0.05

// setAWSTiming changes the simulator's delays; those left out stay.
func setAWSTiming(timing map[string]any) error {
	endpoint, err := testLab.AWSEndpoint()
	if err != nil {
		return err
	}
	body, _ := json.Marshal(timing)
	req, _ := http.NewRequest(http.MethodPut, endpoint+"/_lab/timing", bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("setting the simulator's timing: %s", resp.Status)
	}
	return nil
}

type env struct {
	c       client.Client
	clients cloud.Clients
	engine  *engine.Engine
}

// startEngine runs the engine with the AWS provider against the lab's
// management plane and AWS simulator.
func startEngine(t *testing.T) env {
	t.Helper()
	if testLab == nil {
		t.Skip("needs the lab: TF_ACC=1 (make testacc)")
	}
	if timingErr != nil {
		t.Fatal(timingErr)
	}
	endpoint, err := testLab.AWSEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "capi-lab")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "capi-lab")
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	ctx := context.Background()
	cfg, err := testLab.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := crds.Install(ctx, cfg, "aws-test", Infrastructure{}.CRDs()); err != nil {
		t.Fatal(err)
	}
	provider := Provider{}
	e, err := engine.Start(ctx, engine.Options{Config: cfg, Providers: []engine.Provider{provider}, Logger: testr.NewWithOptions(t, testr.Options{Verbosity: 0})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop() })
	scheme, err := engine.Scheme(provider)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	clients, err := cloud.NewClients(ctx, "us-east-1", cloud.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return env{c: c, clients: clients, engine: e}
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	start := time.Now()
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true, func(context.Context) (bool, error) { return cond() })
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("%s after %s", what, time.Since(start).Round(100*time.Millisecond))
}

func countKinds(t *testing.T) map[string]int {
	t.Helper()
	live, err := testLab.AWSResources()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range live {
		out[r.Kind]++
	}
	return out
}

// A Cluster with AWS infrastructure and a kubeadm control plane: the
// network, security groups and load balancer appear in the simulator, the
// first control plane instance runs with the kubeadm-init user data CABPK
// generated, and deleting the Cluster leaves the simulator empty.
func TestAccAWSClusterWithControlPlane(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	name := fmt.Sprintf("aws-%d", time.Now().UnixNano()%100000)
	labels := map[string]string{clusterv1.WatchLabel: engine.WatchFilterValue}

	awsCluster := &infrav1.AWSCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels}}
	awsCluster.Spec.Region = "us-east-1"
	awsCluster.Spec.Network.AvailabilityZones = []string{"us-east-1a", "us-east-1b"}
	template := &infrav1.AWSMachineTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name + "-cp", Labels: labels}}
	// No AMI: the image is looked up for the control plane's version.
	template.Spec.Template.Spec = infrav1.AWSMachineSpec{InstanceType: "t3.large"}
	kcp := &controlplanev1.KubeadmControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name + "-cp", Labels: labels}}
	kcp.Spec.Replicas = ptr.To[int32](1)
	kcp.Spec.Version = "v1.36.0"
	kcp.Spec.MachineTemplate.ObjectMeta.Labels = labels
	kcp.Spec.MachineTemplate.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "AWSMachineTemplate", Name: template.Name}
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels}}
	cluster.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "AWSCluster", Name: name}
	cluster.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "KubeadmControlPlane", Name: kcp.Name}
	for _, obj := range []client.Object{awsCluster, template, kcp, cluster} {
		if _, err := engine.Admit(ctx, e.c, obj, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	eventually(t, "Cluster provisioned", 60*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(cluster), cluster)
		return err == nil && cluster.Status.Phase == string(clusterv1.ClusterPhaseProvisioned), err
	})
	if err := e.c.Get(ctx, client.ObjectKeyFromObject(awsCluster), awsCluster); err != nil {
		t.Fatal(err)
	}
	// The lab's load balancers answer at a loopback address, their DNS name.
	if ep, lb := cluster.Spec.ControlPlaneEndpoint, awsCluster.Status.Network.LoadBalancer; ep.Host == "" || ep.Host != lb.DNSName || ep.Port != 6443 {
		t.Errorf("control plane endpoint = %+v, want the load balancer's DNS name %q", ep, lb.DNSName)
	}
	if len(awsCluster.Status.FailureDomains) != 2 {
		t.Errorf("failure domains = %+v", awsCluster.Status.FailureDomains)
	}

	var machine clusterv1.Machine
	eventually(t, "control plane Machine provisioned on a running instance", 60*time.Second, func() (bool, error) {
		var machines clusterv1.MachineList
		if err := e.c.List(ctx, &machines, client.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil || len(machines.Items) != 1 {
			return false, err
		}
		machine = machines.Items[0]
		// Provisioned, or Running once the lab's kubeadm has joined its node.
		return machine.Status.Phase == string(clusterv1.MachinePhaseProvisioned) || machine.Status.Phase == string(clusterv1.MachinePhaseRunning), nil
	})
	if !strings.HasPrefix(machine.Spec.ProviderID, "aws:///us-east-1") {
		t.Errorf("providerID = %q", machine.Spec.ProviderID)
	}

	kinds := countKinds(t)
	want := map[string]int{"vpc": 1, "subnet": 4, "internet-gateway": 1, "elastic-ip": 1, "natgateway": 1, "route-table": 3,
		"security-group": 3, "loadbalancer": 1, "targetgroup": 1, "listener": 1, "instance": 1}
	for kind, n := range want {
		if kinds[kind] != n {
			t.Errorf("simulator has %d %s, want %d (all: %v)", kinds[kind], kind, n, kinds)
		}
	}

	instanceID := machine.Spec.ProviderID[strings.LastIndex(machine.Spec.ProviderID, "/")+1:]
	health, err := e.clients.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: awssdk.String(awsCluster.Status.Network.LoadBalancer.TargetGroupARN)})
	if err != nil {
		t.Fatal(err)
	}
	if len(health.TargetHealthDescriptions) != 1 || awssdk.ToString(health.TargetHealthDescriptions[0].Target.Id) != instanceID {
		t.Errorf("API server target group targets = %+v, want the control plane instance %s", health.TargetHealthDescriptions, instanceID)
	}
	described, err := e.clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		t.Fatal(err)
	}
	// CAPA's default lookup for v1.36.0: Ubuntu 24.04, whose root is
	// /dev/sda1; no root size asked, so no other volume either.
	if i := described.Reservations[0].Instances[0]; awssdk.ToString(i.ImageId) != lookupImageID(t, e, "capa-ami-ubuntu-24.04-v1.36.0-1761000000") ||
		awssdk.ToString(i.RootDeviceName) != "/dev/sda1" || len(i.BlockDeviceMappings) != 1 {
		t.Errorf("control plane instance image %s, root %s, devices %d", awssdk.ToString(i.ImageId), awssdk.ToString(i.RootDeviceName), len(i.BlockDeviceMappings))
	}
	checkCloudProviderTags(t, e, cluster.Name, awsCluster, instanceID)
	checkAPILoadBalancer(t, e, awsCluster, instanceID)
	attr, err := e.clients.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: awssdk.String(instanceID), Attribute: ec2types.InstanceAttributeNameUserData})
	if err != nil {
		t.Fatal(err)
	}
	userData, _ := base64.StdEncoding.DecodeString(awssdk.ToString(attr.UserData.Value))
	// CABPK's kubeadm init, with the cluster's keys, waits in Secrets
	// Manager; the user data only fetches it.
	if !strings.Contains(string(userData), "text/cloud-boothook") || strings.Contains(string(userData), "kubeadm init") || strings.Contains(string(userData), "PRIVATE KEY") {
		t.Errorf("instance user data is not the boothook alone:\n%.300s", userData)
	}

	if err := e.c.Delete(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpObjects(t, e.c)
		}
	})
	eventually(t, "Cluster deleted", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(cluster), &clusterv1.Cluster{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if left, err := testLab.AWSResources(); err != nil || len(left) != 0 {
		t.Errorf("simulator resources left after delete: %+v %v", left, err)
	}
	var awsMachines infrav1.AWSMachineList
	if err := e.c.List(ctx, &awsMachines, client.InNamespace("default")); err != nil || len(awsMachines.Items) != 0 {
		t.Errorf("AWSMachines left: %d %v", len(awsMachines.Items), err)
	}
}

// checkCloudProviderTags checks the tags Kubernetes' AWS cloud provider
// needs, as CAPA sets them: the cluster tag on the instance and its
// volumes, on the subnets with their Service load balancer roles, and on
// the instances' security groups (not the API server load balancer's).
func checkCloudProviderTags(t *testing.T, e env, clusterName string, awsCluster *infrav1.AWSCluster, instanceID string) {
	t.Helper()
	ctx := context.Background()
	key := "kubernetes.io/cluster/" + clusterName
	has := func(tags []ec2types.Tag, k, v string) bool {
		for _, tag := range tags {
			if awssdk.ToString(tag.Key) == k && awssdk.ToString(tag.Value) == v {
				return true
			}
		}
		return false
	}
	instances, err := e.clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		t.Fatal(err)
	}
	if tags := instances.Reservations[0].Instances[0].Tags; !has(tags, key, "owned") {
		t.Errorf("instance tags %v lack %s=owned", tags, key)
	}
	volumes, err := e.clients.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("attachment.instance-id"), Values: []string{instanceID}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range volumes.Volumes {
		if !has(v.Tags, key, "owned") {
			t.Errorf("volume %s tags %v lack %s=owned", awssdk.ToString(v.VolumeId), v.Tags, key)
		}
	}
	var subnetIDs []string
	for _, s := range awsCluster.Status.Network.Subnets {
		subnetIDs = append(subnetIDs, s.ID)
	}
	subnets, err := e.clients.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: subnetIDs})
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range subnets.Subnets {
		role := "kubernetes.io/role/internal-elb"
		if awssdk.ToBool(sn.MapPublicIpOnLaunch) {
			role = "kubernetes.io/role/elb"
		}
		if !has(sn.Tags, key, "owned") || !has(sn.Tags, role, "1") {
			t.Errorf("subnet %s tags %v lack %s=owned or %s=1", awssdk.ToString(sn.SubnetId), sn.Tags, key, role)
		}
	}
	sgs := awsCluster.Status.Network.SecurityGroups
	groups, err := e.clients.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sgs.ControlPlane, sgs.Node, sgs.LoadBalancer}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.SecurityGroups {
		if want := awssdk.ToString(g.GroupId) != sgs.LoadBalancer; has(g.Tags, key, "owned") != want {
			t.Errorf("security group %s: cluster tag %v, want %v", awssdk.ToString(g.GroupName), !want, want)
		}
	}
}

// checkAPILoadBalancer checks the API server load balancer as CAPA sets
// it up: its health check, client IPs not preserved, the control plane
// instance turning healthy, and the API server port of the control plane
// group open only to the load balancer's group and the VPC.
func checkAPILoadBalancer(t *testing.T, e env, awsCluster *infrav1.AWSCluster, instanceID string) {
	t.Helper()
	ctx := context.Background()
	lb := awsCluster.Status.Network.LoadBalancer
	tgs, err := e.clients.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{lb.TargetGroupARN}})
	if err != nil {
		t.Fatal(err)
	}
	tg := tgs.TargetGroups[0]
	if tg.HealthCheckProtocol != elbv2types.ProtocolEnumTcp || awssdk.ToInt32(tg.HealthCheckIntervalSeconds) != 10 || awssdk.ToInt32(tg.HealthCheckTimeoutSeconds) != 5 ||
		awssdk.ToInt32(tg.HealthyThresholdCount) != 5 || awssdk.ToInt32(tg.UnhealthyThresholdCount) != 3 {
		t.Errorf("health check = %s every %ds, timeout %ds, %d healthy / %d unhealthy; want CAPA's TCP 10 s, 5 s, 5 / 3", tg.HealthCheckProtocol,
			awssdk.ToInt32(tg.HealthCheckIntervalSeconds), awssdk.ToInt32(tg.HealthCheckTimeoutSeconds), awssdk.ToInt32(tg.HealthyThresholdCount), awssdk.ToInt32(tg.UnhealthyThresholdCount))
	}
	attrs, err := e.clients.ELB.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: &lb.TargetGroupARN})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attrs.Attributes {
		if awssdk.ToString(a.Key) == "preserve_client_ip.enabled" && awssdk.ToString(a.Value) != "false" {
			t.Errorf("preserve_client_ip.enabled = %s", awssdk.ToString(a.Value))
		}
	}
	eventually(t, "control plane target healthy", 20*time.Second, func() (bool, error) {
		out, err := e.clients.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: &lb.TargetGroupARN})
		if err != nil || len(out.TargetHealthDescriptions) != 1 {
			return false, err
		}
		h := out.TargetHealthDescriptions[0]
		return awssdk.ToString(h.Target.Id) == instanceID && h.TargetHealth.State == elbv2types.TargetHealthStateEnumHealthy, nil
	})

	sgs := awsCluster.Status.Network.SecurityGroups
	groups, err := e.clients.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sgs.ControlPlane}})
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, p := range groups.SecurityGroups[0].IpPermissions {
		if awssdk.ToString(p.IpProtocol) != "tcp" || awssdk.ToInt32(p.FromPort) != 6443 {
			continue
		}
		for _, r := range p.IpRanges {
			sources = append(sources, awssdk.ToString(r.CidrIp))
		}
		for _, g := range p.UserIdGroupPairs {
			sources = append(sources, awssdk.ToString(g.GroupId))
		}
	}
	if strings.Join(sources, ",") != "10.0.0.0/16,"+sgs.LoadBalancer {
		t.Errorf("API server port of the control plane group open to %v, want the VPC and %s", sources, sgs.LoadBalancer)
	}
}

// dumpObjects logs what is left, for a failed test.
func dumpObjects(t *testing.T, c client.Client) {
	enginetest.DumpObjects(t, c, &infrav1.AWSClusterList{}, &infrav1.AWSMachineList{})
}

// With 30% of RunInstances calls throttled, a control plane Machine and two
// standalone Machines (with user-supplied bootstrap data) still get exactly
// one instance each: the SDK's retryer retries, the client tokens dedupe.
func TestAccAWSThrottledRunInstancesMakeOneInstancePerMachine(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	if err := testLab.SetAWSFaults([]map[string]any{{"action": "RunInstances", "rate": 0.3, "error": "throttling"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testLab.SetAWSFaults(nil) })
	before, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}

	name := fmt.Sprintf("throttled-%d", time.Now().UnixNano()%100000)
	labels := map[string]string{clusterv1.WatchLabel: engine.WatchFilterValue}
	awsCluster := &infrav1.AWSCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels}}
	awsCluster.Spec.Region = "us-east-1"
	template := &infrav1.AWSMachineTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name + "-cp", Labels: labels}}
	// No AMI: the image is looked up for the control plane's version.
	template.Spec.Template.Spec = infrav1.AWSMachineSpec{InstanceType: "t3.large"}
	kcp := &controlplanev1.KubeadmControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name + "-cp", Labels: labels}}
	kcp.Spec.Replicas = ptr.To[int32](1)
	kcp.Spec.Version = "v1.36.0"
	kcp.Spec.MachineTemplate.ObjectMeta.Labels = labels
	kcp.Spec.MachineTemplate.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "AWSMachineTemplate", Name: template.Name}
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels}}
	cluster.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "AWSCluster", Name: name}
	cluster.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "KubeadmControlPlane", Name: kcp.Name}
	objects := []client.Object{awsCluster, template, kcp, cluster}
	for i := 0; i < 2; i++ {
		machineName := fmt.Sprintf("%s-standalone-%d", name, i)
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: machineName + "-bootstrap", Labels: labels},
			Data: map[string][]byte{"value": []byte("#!/bin/sh\necho user-supplied bootstrap\n"), "format": []byte("cloud-config")}}
		awsMachine := &infrav1.AWSMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: machineName, Labels: labels},
			Spec: infrav1.AWSMachineSpec{InstanceType: "t3.medium"}}
		machine := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: machineName, Labels: labels}}
		machine.Spec.ClusterName = name
		machine.Spec.Version = "v1.36.0"
		machine.Spec.Bootstrap.DataSecretName = ptr.To(secret.Name)
		machine.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "AWSMachine", Name: machineName}
		objects = append(objects, secret, awsMachine, machine)
	}
	for _, obj := range objects {
		if _, err := engine.Admit(ctx, e.c, obj, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpObjects(t, e.c)
		}
	})
	eventually(t, "three Machines provisioned", 90*time.Second, func() (bool, error) {
		var machines clusterv1.MachineList
		if err := e.c.List(ctx, &machines, client.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil {
			return false, err
		}
		provisioned := 0
		for _, m := range machines.Items {
			if m.Status.Phase == string(clusterv1.MachinePhaseProvisioned) || m.Status.Phase == string(clusterv1.MachinePhaseRunning) {
				provisioned++
			}
		}
		return provisioned == 3, nil
	})
	if n := countKinds(t)["instance"]; n != 3 {
		t.Errorf("%d instances for 3 Machines", n)
	}
	after, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			calls[k] = d
		}
	}
	if calls["ec2:RunInstances"] <= 3 {
		t.Errorf("RunInstances was called %d times: the faults did not bite", calls["ec2:RunInstances"])
	}
	t.Logf("calls per action for a cluster, its control plane machine and two standalone machines (30%% of RunInstances throttled): %v", calls)

	if err := e.c.Delete(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Cluster deleted", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(cluster), &clusterv1.Cluster{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if left, err := testLab.AWSResources(); err != nil || len(left) != 0 {
		t.Errorf("simulator resources left after delete: %+v %v", left, err)
	}
}
