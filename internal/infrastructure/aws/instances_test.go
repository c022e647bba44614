package aws

import (
	"context"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// setPaused pauses or resumes a cluster's reconciliation.
func setPaused(t *testing.T, e env, cluster *clusterv1.Cluster, paused bool) {
	t.Helper()
	ctx := context.Background()
	if err := e.c.Get(ctx, client.ObjectKeyFromObject(cluster), cluster); err != nil {
		t.Fatal(err)
	}
	before := cluster.DeepCopy()
	cluster.Spec.Paused = ptr.To(paused)
	if err := e.c.Patch(ctx, cluster, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
}

// The sequence the client token is for: RunInstances succeeded, but the
// AWSMachine's patch with the instance ID never happened (a crash, a
// timeout), and then the AWSMachine is deleted. The delete finds the
// instance by its token and terminates it, instead of dropping the
// finalizer and leaking a running instance.
func TestAccAWSMachineDeletedBeforeItsInstanceIDWasRecordedTerminatesIt(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	cluster := networkOnlyCluster(t, e, "unrecorded")
	// Bootstrap data that never comes keeps the reconciler from running
	// an instance itself.
	awsMachine := &infrav1.AWSMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: cluster.Name + "-m", Labels: testLabels},
		Spec: infrav1.AWSMachineSpec{InstanceType: "t3.medium"}}
	machine := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: awsMachine.Name, Labels: testLabels}}
	machine.Spec.ClusterName = cluster.Name
	machine.Spec.Version = "v1.36.0"
	machine.Spec.Bootstrap.DataSecretName = ptr.To("never-written")
	machine.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "AWSMachine", Name: awsMachine.Name}
	e.create(t, awsMachine, machine)
	eventually(t, "AWSMachine has its finalizer", 30*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(awsMachine), awsMachine)
		return err == nil && len(awsMachine.Finalizers) > 0, err
	})
	setPaused(t, e, cluster, true)
	eventually(t, "AWSMachine paused", 30*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(awsMachine), awsMachine)
		return err == nil && meta.IsStatusConditionTrue(awsMachine.Status.Conditions, clusterv1.PausedCondition), err
	})

	// What the reconciler's RunInstances call did before the crash.
	awsCluster := &infrav1.AWSCluster{}
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: cluster.Name}, awsCluster); err != nil {
		t.Fatal(err)
	}
	img, err := e.clients.ResolveImage(ctx, cloud.ImageRequest{KubernetesVersion: "v1.36.0", InstanceType: "t3.medium"})
	if err != nil {
		t.Fatal(err)
	}
	st := awsCluster.Status.Network
	instance, err := e.clients.RunInstance(ctx, cloud.InstanceSpec{Cluster: cloud.Cluster{Namespace: "default", Name: cluster.Name, UID: string(awsCluster.UID)},
		Machine: machine.Name, Token: string(awsMachine.UID), Role: "node", Image: img, InstanceType: "t3.medium",
		SubnetID: st.Subnets[1].ID, SecurityGroupIDs: []string{st.SecurityGroups.Node}, UserData: []byte("#!/bin/sh\n")})
	if err != nil {
		t.Fatal(err)
	}
	id := awssdk.ToString(instance.InstanceId)

	if err := e.c.Delete(ctx, awsMachine); err != nil {
		t.Fatal(err)
	}
	setPaused(t, e, cluster, false)
	eventually(t, "AWSMachine deleted", 60*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(awsMachine), &infrav1.AWSMachine{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	out, err := e.clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if state := out.Reservations[0].Instances[0].State.Name; state != ec2types.InstanceStateNameTerminated && state != ec2types.InstanceStateNameShuttingDown {
		t.Errorf("instance %s run for the deleted AWSMachine is %s", id, state)
	}
}

// With EC2 not knowing a new instance by ID for longer than the
// reconciler waits before describing it again, the machine still comes
// up, and nothing reports its instance gone.
func TestAccAWSMachineSurvivesEventualConsistency(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	cluster := networkOnlyCluster(t, e, "consistency")
	if err := setAWSTiming(map[string]any{"consistencyDelay": "5s"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = setAWSTiming(map[string]any{"consistencyDelay": testConsistencyDelay}) })
	machine, _ := standaloneMachine(t, e, cluster, "m", "v1.36.0", infrav1.AWSMachineSpec{InstanceType: "t3.medium"})
	am := &infrav1.AWSMachine{}
	eventually(t, "machine running", 60*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: machine.Name}, am)
		return err == nil && ptr.Deref(am.Status.Initialization.Provisioned, false), err
	})
	var events corev1.EventList
	if err := e.c.List(ctx, &events, client.InNamespace("default"), client.MatchingFields{"involvedObject.name": am.Name}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range events.Items {
		if ev.Type == corev1.EventTypeWarning {
			t.Errorf("warning event %s: %s", ev.Reason, ev.Message)
		}
	}
	if got := ownedInstances(t, e, cluster.Name); got != 1 {
		t.Errorf("%d instances for one machine", got)
	}
}

// ownedInstances counts the live instances of a cluster.
func ownedInstances(t *testing.T, e env, cluster string) int {
	t.Helper()
	owner := cloud.Cluster{Namespace: "default", Name: cluster}.OwnerTag()
	out, err := e.clients.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("tag:" + owner), Values: []string{"owned"}},
		{Name: awssdk.String("instance-state-name"), Values: []string{"pending", "running"}}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range out.Reservations {
		n += len(r.Instances)
	}
	return n
}
