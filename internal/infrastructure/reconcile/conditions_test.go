package reconcile

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/failure"
)

// condition is obj's condType as status/reason/message.
func condition(obj conditions.Getter, condType string) string {
	c := conditions.Get(obj, condType)
	if c == nil {
		return ""
	}
	return string(c.Status) + "/" + c.Reason + "/" + c.Message
}

func TestFailureReason(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{errors.New("throttled"), "StepFailed"},
		{failure.Permanent("", "no such subnet"), "StepPermanentFailure"},
		{failure.Permanent("ImageNotFound", "no such image"), "ImageNotFound"},
	} {
		if got := FailureReason(failure.As, c.err, "StepFailed", "StepPermanentFailure"); got != c.want {
			t.Errorf("FailureReason(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	c := machine("c-1")
	Summarize(c, "NetworkReady", "LoadBalancerReady")
	if got := condition(c, clusterv1.ReadyCondition); got != "False/Provisioning/NetworkReady not reported yet" {
		t.Errorf("Ready before any step: %s", got)
	}
	SetCondition(c, "NetworkReady", true, "NetworkReady", "")
	SetCondition(c, "LoadBalancerReady", false, "LoadBalancerProvisioning", "Waiting")
	Summarize(c, "NetworkReady", "LoadBalancerReady")
	if got := condition(c, clusterv1.ReadyCondition); got != "False/LoadBalancerProvisioning/Waiting" {
		t.Errorf("Ready while a step waits: %s", got)
	}
	SetCondition(c, "LoadBalancerReady", true, "LoadBalancerActive", "")
	Summarize(c, "NetworkReady", "LoadBalancerReady")
	if got := condition(c, clusterv1.ReadyCondition); got != "True/Ready/" {
		t.Errorf("Ready once every step is: %s", got)
	}
	SetCondition(c, clusterv1.ReadyCondition, false, "Deleting", "Waiting for the network to be deleted")
	now := metav1.Now()
	c.DeletionTimestamp = &now
	Summarize(c, "NetworkReady", "LoadBalancerReady")
	if got := condition(c, clusterv1.ReadyCondition); got != "False/Deleting/Waiting for the network to be deleted" {
		t.Errorf("Ready of a cluster being deleted: %s", got)
	}
}

func TestWaitsForCluster(t *testing.T) {
	cluster, m, obj := &clusterv1.Cluster{}, &clusterv1.Machine{}, machine("m-1")
	if !WaitsForCluster(obj, "InstanceReady", cluster, m, "the cluster's network") ||
		condition(obj, "InstanceReady") != "False/WaitingForClusterInfrastructure/Waiting for the cluster's network" ||
		condition(obj, clusterv1.ReadyCondition) != condition(obj, "InstanceReady") {
		t.Errorf("a cluster without infrastructure: %s, Ready %s", condition(obj, "InstanceReady"), condition(obj, clusterv1.ReadyCondition))
	}
	cluster.Status.Initialization.InfrastructureProvisioned = ptr.To(true)
	if !WaitsForCluster(obj, "InstanceReady", cluster, m, "the cluster's network") ||
		condition(obj, "InstanceReady") != "False/WaitingForBootstrapData/Waiting for the bootstrap provider's data secret" {
		t.Errorf("a Machine without bootstrap data: %s", condition(obj, "InstanceReady"))
	}
	m.Spec.Bootstrap.DataSecretName = ptr.To("m-1-bootstrap")
	if WaitsForCluster(obj, "InstanceReady", cluster, m, "the cluster's network") {
		t.Error("a machine with everything it needs waits")
	}
}

func TestMachineFailed(t *testing.T) {
	recorder := record.NewFakeRecorder(10)
	p := New[*clusterv1.Machine, *ran](Kind{Cloud: Cloud{AsPermanent: failure.As, Message: func(err error) string { return "cloud: " + err.Error() }},
		Conditions: []string{"InstanceReady"}}, nil, nil, nil, nil, nil)
	p.Recorder = recorder
	m := machine("m-1")
	throttled := errors.New("throttled")
	event := func() string {
		select {
		case e := <-recorder.Events:
			return e
		default:
			return ""
		}
	}

	if err := p.MachineFailed(m, false, "LookupFailed", "PermanentFailure", "looking up the instance", throttled); err != throttled {
		t.Errorf("MachineFailed returns %v", err)
	}
	want := "False/LookupFailed/looking up the instance: cloud: throttled"
	if got := condition(m, "InstanceReady"); got != want || condition(m, clusterv1.ReadyCondition) != want {
		t.Errorf("a machine not provisioned yet: %s, Ready %s", got, condition(m, clusterv1.ReadyCondition))
	}
	if e := event(); e != corev1.EventTypeWarning+" LookupFailed looking up the instance: cloud: throttled" {
		t.Errorf("event %q", e)
	}

	// A provisioned machine keeps its conditions through an error a retry
	// may clear, not through one it cannot.
	SetCondition(m, "InstanceReady", true, "InstanceRunning", "i-1")
	p.MachineFailed(m, true, "LookupFailed", "PermanentFailure", "", throttled)
	if got := condition(m, "InstanceReady"); got != "True/InstanceRunning/i-1" {
		t.Errorf("a running machine after a throttled call: %s", got)
	}
	if e := event(); !strings.HasSuffix(e, "LookupFailed cloud: throttled") {
		t.Errorf("event %q", e)
	}
	p.MachineFailed(m, true, "LookupFailed", "PermanentFailure", "", failure.Permanent("", "no access"))
	if got := condition(m, "InstanceReady"); got != "False/PermanentFailure/cloud: no access" {
		t.Errorf("a running machine after a permanent failure: %s", got)
	}
}
