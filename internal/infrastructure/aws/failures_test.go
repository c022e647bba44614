package aws

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/engine/enginetest"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// failingCluster makes an AWSCluster with spec and its Cluster, without
// waiting for anything, and deletes them at the end of the test.
func failingCluster(t *testing.T, e env, name string, spec func(*infrav1.AWSClusterSpec)) *infrav1.AWSCluster {
	t.Helper()
	ctx := context.Background()
	awsCluster := &infrav1.AWSCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: testLabels}}
	awsCluster.Spec.Region = "us-east-1"
	spec(&awsCluster.Spec)
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: testLabels}}
	cluster.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "AWSCluster", Name: name}
	e.create(t, awsCluster, cluster)
	t.Cleanup(func() {
		if t.Failed() {
			dumpObjects(t, e.c)
		}
		if err := e.c.Delete(ctx, cluster); err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
			return
		}
		eventually(t, "Cluster "+name+" deleted", 90*time.Second, func() (bool, error) {
			err := e.c.Get(ctx, client.ObjectKeyFromObject(cluster), &clusterv1.Cluster{})
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		})
		if left := ownedResources(t, "default", name); len(left) != 0 {
			t.Errorf("simulator resources of %s left after delete: %+v", name, left)
		}
	})
	return awsCluster
}

// warnings counts the warning events of an object with reason.
func warnings(t *testing.T, e env, name, reason string) int {
	t.Helper()
	return enginetest.Warnings(t, e.c, "default", name, reason)
}

// maxFailingCallsPerMinute bounds the calls a permanently failing create
// may make: the same refused request, over and over, is what gets an AWS
// account throttled.
const maxFailingCallsPerMinute = 10

// An AWSCluster that AWS refuses as specified says so within seconds, on
// Ready and NetworkReady, with a reason that says no retry helps and the
// cloud's own message, and is retried slowly: a zone of another region
// (CreateSubnet refused), a VPC CIDR larger than EC2 allows (CreateVpc
// refused), and one too small for its subnets (refused before a VPC is
// made). Deleting them leaves nothing behind.
func TestAccAWSClusterPermanentFailuresAreReportedAndRetriedSlowly(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	suffix := fmt.Sprintf("%05d", time.Now().UnixNano()%100000)
	cases := []struct {
		name string
		spec func(*infrav1.AWSClusterSpec)
		// action is the call AWS refuses, message what it says.
		action, message string
	}{
		{"zone-" + suffix, func(s *infrav1.AWSClusterSpec) { s.Network.AvailabilityZones = []string{"eu-west-1a"} }, "ec2:CreateSubnet",
			"creating public-subnet in eu-west-1a: InvalidParameterValue: Value (eu-west-1a) for parameter availabilityZone is invalid. " +
				"Subnets can currently only be created in the following availability zones: us-east-1a, us-east-1b, us-east-1c."},
		{"large-cidr-" + suffix, func(s *infrav1.AWSClusterSpec) { s.Network.CIDRBlock = "10.0.0.0/8" }, "ec2:CreateVpc",
			"creating VPC: InvalidVpc.Range: The CIDR '10.0.0.0/8' is invalid."},
		{"small-cidr-" + suffix, func(s *infrav1.AWSClusterSpec) {
			s.Network.CIDRBlock = "10.0.0.0/26"
			s.Network.AvailabilityZones = []string{"us-east-1a"}
		}, "", "VPC CIDR 10.0.0.0/26 is too small"},
	}
	clusters := map[string]*infrav1.AWSCluster{}
	for _, c := range cases {
		clusters[c.name] = failingCluster(t, e, c.name, c.spec)
	}
	messages := map[string]string{}
	for _, c := range cases {
		ac := clusters[c.name]
		eventually(t, c.name+" reports a permanent failure", 20*time.Second, func() (bool, error) {
			err := e.c.Get(ctx, client.ObjectKeyFromObject(ac), ac)
			ready := meta.FindStatusCondition(ac.Status.Conditions, infrav1.ReadyCondition)
			return err == nil && ready != nil && infrav1.IsPermanentFailure(ready.Reason), err
		})
		ready := meta.FindStatusCondition(ac.Status.Conditions, infrav1.ReadyCondition)
		network := meta.FindStatusCondition(ac.Status.Conditions, infrav1.NetworkReadyCondition)
		if ready.Status != metav1.ConditionFalse || network == nil || network.Status != metav1.ConditionFalse ||
			network.Reason != infrav1.NetworkPermanentFailureReason || network.Message != ready.Message {
			t.Errorf("%s: Ready %+v, NetworkReady %+v", c.name, ready, network)
		}
		if !strings.Contains(ready.Message, c.message) {
			t.Errorf("%s: message %q, want the cloud's %q", c.name, ready.Message, c.message)
		}
		if strings.Contains(ready.Message, "RequestID") || strings.Contains(ready.Message, "StatusCode") {
			t.Errorf("%s: message %q carries the request's details", c.name, ready.Message)
		}
		if warnings(t, e, c.name, infrav1.NetworkPermanentFailureReason) == 0 {
			t.Errorf("%s: no %s warning event", c.name, infrav1.NetworkPermanentFailureReason)
		}
		messages[c.name] = ready.Message
	}

	// Over a window, the refused requests are repeated a few times at
	// most, and the conditions do not change.
	const window = 45 * time.Second
	before, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(window)
	after, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	perMinute := func(action string) float64 {
		return float64(after[action]-before[action]) * float64(time.Minute) / float64(window)
	}
	for _, c := range cases {
		action := c.action
		if action == "" {
			continue
		}
		t.Logf("%s: %d calls in %s, %.1f a minute", action, after[action]-before[action], window, perMinute(action))
		if perMinute(action) > maxFailingCallsPerMinute {
			t.Errorf("%s called %.1f times a minute for clusters that AWS refuses, want at most %d", action, perMinute(action), maxFailingCallsPerMinute)
		}
	}
	ec2Calls := 0
	for action, n := range after {
		if strings.HasPrefix(action, "ec2:") {
			ec2Calls += n - before[action]
		}
	}
	t.Logf("all EC2 calls of the three clusters: %d in %s", ec2Calls, window)
	if limit := 3 * 3 * maxFailingCallsPerMinute * window / time.Minute; ec2Calls > int(limit) {
		t.Errorf("%d EC2 calls in %s for three refused clusters, want at most %d", ec2Calls, window, limit)
	}
	for _, c := range cases {
		ac := &infrav1.AWSCluster{}
		if err := e.c.Get(ctx, client.ObjectKeyFromObject(clusters[c.name]), ac); err != nil {
			t.Fatal(err)
		}
		if ready := meta.FindStatusCondition(ac.Status.Conditions, infrav1.ReadyCondition); ready == nil || ready.Message != messages[c.name] {
			t.Errorf("%s: Ready changed from %q to %+v", c.name, messages[c.name], ready)
		}
	}
	// The VPC too small for its subnets was never made.
	if left := ownedResources(t, "default", cases[2].name); len(left) != 0 {
		t.Errorf("a VPC too small for its subnets left %v", left)
	}
}

// A failure that a retry can clear is retried, and the cluster comes up
// once the cloud answers again: here CreateVpc fails with server errors
// (past the SDK's own retries) for a while.
func TestAccAWSClusterRecoversFromTransientFailures(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	if err := testLab.SetAWSFaults([]map[string]any{{"action": "CreateVpc", "rate": 1, "error": "server"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testLab.SetAWSFaults(nil) })
	name := fmt.Sprintf("transient-%05d", time.Now().UnixNano()%100000)
	ac := failingCluster(t, e, name, func(s *infrav1.AWSClusterSpec) { s.Network.AvailabilityZones = []string{"us-east-1a"} })
	eventually(t, "the failure reported", 30*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(ac), ac)
		return err == nil && meta.FindStatusCondition(ac.Status.Conditions, infrav1.NetworkReadyCondition) != nil, err
	})
	network := meta.FindStatusCondition(ac.Status.Conditions, infrav1.NetworkReadyCondition)
	if network.Status != metav1.ConditionFalse || infrav1.IsPermanentFailure(network.Reason) || !strings.Contains(network.Message, "CreateVpc") &&
		!strings.Contains(network.Message, "creating VPC") {
		t.Errorf("NetworkReady = %+v, want a failure that is not permanent", network)
	}
	if err := testLab.SetAWSFaults(nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "AWSCluster provisioned after the cloud recovered", 60*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(ac), ac)
		return err == nil && ptr.Deref(ac.Status.Initialization.Provisioned, false), err
	})
	if ready := meta.FindStatusCondition(ac.Status.Conditions, infrav1.ReadyCondition); ready == nil || ready.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %+v", ready)
	}
}

// An AWSMachine that EC2 refuses to run as specified (an instance type it
// does not know) says so on InstanceReady and Ready with a reason that
// says no retry helps and EC2's message, and RunInstances is repeated a
// few times a minute at most.
func TestAccAWSMachinePermanentFailureIsReportedAndRetriedSlowly(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	cluster := networkOnlyCluster(t, e, "refused")
	machine, _ := standaloneMachine(t, e, cluster, "huge", "v1.36.0", infrav1.AWSMachineSpec{InstanceType: "t3.huge"})
	am := &infrav1.AWSMachine{}
	eventually(t, "machine reports a permanent failure", 30*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: machine.Name}, am)
		ready := meta.FindStatusCondition(am.Status.Conditions, infrav1.ReadyCondition)
		return err == nil && ready != nil && infrav1.IsPermanentFailure(ready.Reason), err
	})
	cond := instanceReady(am)
	if cond == nil || cond.Reason != infrav1.InstancePermanentFailureReason || !strings.Contains(cond.Message, "InvalidParameterValue: Invalid value 't3.huge' for InstanceType.") {
		t.Errorf("InstanceReady = %+v, want %s with EC2's message", cond, infrav1.InstancePermanentFailureReason)
	}
	if warnings(t, e, am.Name, infrav1.InstancePermanentFailureReason) == 0 {
		t.Errorf("no %s warning event", infrav1.InstancePermanentFailureReason)
	}
	const window = 30 * time.Second
	before, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(window)
	after, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	n := after["ec2:RunInstances"] - before["ec2:RunInstances"]
	t.Logf("ec2:RunInstances: %d calls in %s", n, window)
	if perMinute := float64(n) * float64(time.Minute) / float64(window); perMinute > maxFailingCallsPerMinute {
		t.Errorf("RunInstances called %.1f times a minute for a machine EC2 refuses, want at most %d", perMinute, maxFailingCallsPerMinute)
	}
	if am.Spec.InstanceID != "" {
		t.Errorf("instance %s runs", am.Spec.InstanceID)
	}
}
