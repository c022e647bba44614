package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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

	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	"github.com/terraform-capi/terraform-provider-capi/internal/engine/enginetest"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

var testLabels = map[string]string{clusterv1.WatchLabel: engine.WatchFilterValue}

// create admits and creates objects as the provider does.
func (e env) create(t *testing.T, objects ...client.Object) {
	t.Helper()
	enginetest.Create(t, e.c, objects...)
}

// networkOnlyCluster makes a Cluster with AWS infrastructure in one zone
// and no control plane, for standalone Machines, and waits for its
// network. The Cluster is deleted at the end of the test and the
// simulator checked for leaks.
func networkOnlyCluster(t *testing.T, e env, prefix string) *clusterv1.Cluster {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%100000)
	return clusterIn(t, e, "default", name, func(s *infrav1.AWSClusterSpec) { s.Network.AvailabilityZones = []string{"us-east-1a"} })
}

// clusterIn is networkOnlyCluster with its namespace, name and spec.
func clusterIn(t *testing.T, e env, namespace, name string, spec func(*infrav1.AWSClusterSpec)) *clusterv1.Cluster {
	t.Helper()
	ctx := context.Background()
	awsCluster := &infrav1.AWSCluster{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: testLabels}}
	awsCluster.Spec.Region = "us-east-1"
	spec(&awsCluster.Spec)
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: testLabels}}
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
		if left := ownedResources(t, namespace, name); len(left) != 0 {
			t.Errorf("simulator resources of %s left after delete: %+v", name, left)
		}
	})
	eventually(t, "Cluster infrastructure provisioned", 60*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(cluster), cluster)
		return err == nil && ptr.Deref(cluster.Status.Initialization.InfrastructureProvisioned, false), err
	})
	return cluster
}

// ownedResources lists the live simulator resources tagged for a cluster.
func ownedResources(t *testing.T, namespace, cluster string) []string {
	t.Helper()
	live, err := testLab.AWSResources()
	if err != nil {
		t.Fatal(err)
	}
	owner := cloud.Cluster{Namespace: namespace, Name: cluster}.OwnerTag()
	var out []string
	for _, r := range live {
		if r.Tags[owner] != "" {
			out = append(out, r.Kind+" "+r.ID)
		}
	}
	return out
}

// standaloneMachine makes a Machine of cluster with user-supplied
// bootstrap data and an AWSMachine with spec.
func standaloneMachine(t *testing.T, e env, cluster *clusterv1.Cluster, suffix, version string, spec infrav1.AWSMachineSpec) (*clusterv1.Machine, *infrav1.AWSMachine) {
	t.Helper()
	name := cluster.Name + "-" + suffix
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name + "-bootstrap", Labels: testLabels},
		Data: map[string][]byte{"value": []byte("#!/bin/sh\necho user-supplied bootstrap\n"), "format": []byte("cloud-config")}}
	awsMachine := &infrav1.AWSMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: testLabels}, Spec: spec}
	machine := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: testLabels}}
	machine.Spec.ClusterName = cluster.Name
	machine.Spec.Version = version
	machine.Spec.Bootstrap.DataSecretName = ptr.To(secret.Name)
	machine.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "AWSMachine", Name: name}
	e.create(t, secret, awsMachine, machine)
	return machine, awsMachine
}

// lookupImageID is the ID of the catalog image with that name.
func lookupImageID(t *testing.T, e env, name string) string {
	t.Helper()
	out, err := e.clients.EC2.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("name"), Values: []string{name}}}})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("image %s: %v %+v", name, err, out)
	}
	return awssdk.ToString(out.Images[0].ImageId)
}

// registerImages adds images to the simulator's catalog.
func registerImages(t *testing.T, images ...map[string]any) {
	t.Helper()
	endpoint, err := testLab.AWSEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(images)
	req, _ := http.NewRequest(http.MethodPut, endpoint+"/_lab/images", bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("registering images: %s", resp.Status)
	}
}

func instanceReady(m *infrav1.AWSMachine) *metav1.Condition {
	return meta.FindStatusCondition(m.Status.Conditions, infrav1.InstanceReadyCondition)
}

// Images as CAPA finds them: the lookup by version and base OS takes the
// newest build; a version without images, or a root volume below the
// image's snapshot, is reported on the AWSMachine and runs no instance;
// an explicit AMI gets its root size on the image's own root device.
func TestAccAWSMachineImages(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	cluster := networkOnlyCluster(t, e, "images")
	registerImages(t, map[string]any{"name": "big-root-" + cluster.Name, "rootDeviceName": "/dev/xvda", "snapshotSizeGiB": 20})
	bigRoot := lookupImageID(t, e, "big-root-"+cluster.Name)

	newest, _ := standaloneMachine(t, e, cluster, "newest", "v1.36.3", infrav1.AWSMachineSpec{InstanceType: "t3.medium"})
	al, _ := standaloneMachine(t, e, cluster, "al2023", "1.35.0", infrav1.AWSMachineSpec{InstanceType: "t3.medium",
		ImageLookup: &infrav1.ImageLookup{BaseOS: "al2023"}, RootVolumeSizeGiB: 40})
	missing, _ := standaloneMachine(t, e, cluster, "missing", "v1.34.0", infrav1.AWSMachineSpec{InstanceType: "t3.medium"})
	small, _ := standaloneMachine(t, e, cluster, "small", "v1.36.0", infrav1.AWSMachineSpec{InstanceType: "t3.medium", AMI: bigRoot, RootVolumeSizeGiB: 10})
	arm, _ := standaloneMachine(t, e, cluster, "arm", "v1.36.0", infrav1.AWSMachineSpec{InstanceType: "m7g.large", AMI: bigRoot})

	running := func(m *clusterv1.Machine) *infrav1.AWSMachine {
		am := &infrav1.AWSMachine{}
		eventually(t, m.Name+" running", 60*time.Second, func() (bool, error) {
			err := e.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: m.Name}, am)
			return err == nil && am.Status.InstanceState == "running", err
		})
		return am
	}
	if got, want := running(newest).Status.ImageID, lookupImageID(t, e, "capa-ami-ubuntu-24.04-v1.36.3-1764500000"); got != want {
		t.Errorf("v1.36.3 booted %s, want the newer build %s", got, want)
	}
	alMachine := running(al)
	if got, want := alMachine.Status.ImageID, lookupImageID(t, e, "capa-ami-al2023-v1.35.0-1757000000"); got != want {
		t.Errorf("al2023 1.35.0 booted %s, want %s", got, want)
	}
	vols, err := e.clients.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("attachment.instance-id"), Values: []string{alMachine.Spec.InstanceID}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vols.Volumes) != 1 || awssdk.ToString(vols.Volumes[0].Attachments[0].Device) != "/dev/xvda" || awssdk.ToInt32(vols.Volumes[0].Size) != 40 {
		t.Errorf("al2023 machine's volumes = %+v, want one root of 40 GiB on /dev/xvda", vols.Volumes)
	}

	for _, c := range []struct {
		machine        *clusterv1.Machine
		reason         string
		messageContent []string
	}{
		{missing, "ImageNotFound", []string{"819546954734", "capa-ami-ubuntu-24.04-?1.34.0-*", "v1.34.0"}},
		{small, "RootVolumeTooSmall", []string{"10 GiB", "20 GiB", bigRoot}},
		{arm, "ImageArchitectureMismatch", []string{"arm64", bigRoot}},
	} {
		am := &infrav1.AWSMachine{}
		eventually(t, c.machine.Name+" reports "+c.reason, 30*time.Second, func() (bool, error) {
			err := e.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: c.machine.Name}, am)
			cond := instanceReady(am)
			return err == nil && cond != nil && cond.Reason == c.reason, err
		})
		for _, want := range c.messageContent {
			if msg := instanceReady(am).Message; !strings.Contains(msg, want) {
				t.Errorf("%s: condition message %q does not name %q", c.machine.Name, msg, want)
			}
		}
		if am.Spec.InstanceID != "" {
			t.Errorf("%s ran instance %s", c.machine.Name, am.Spec.InstanceID)
		}
		var events corev1.EventList
		if err := e.c.List(ctx, &events, client.InNamespace("default"), client.MatchingFields{"involvedObject.name": am.Name}); err != nil {
			t.Fatal(err)
		}
		warned := 0
		for _, ev := range events.Items {
			if ev.Reason == c.reason && ev.Type == corev1.EventTypeWarning {
				warned += int(ev.Count)
			}
		}
		if warned == 0 {
			t.Errorf("%s: no %s warning event", c.machine.Name, c.reason)
		}
	}
	// The refusals are retried slowly, not in a hot loop: a few calls in
	// some seconds, not hundreds.
	before, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	after, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	if n := after["ec2:DescribeImages"] - before["ec2:DescribeImages"]; n > 6 {
		t.Errorf("%d DescribeImages calls in 5 s for three machines that cannot start", n)
	}
	if n := after["ec2:RunInstances"] - before["ec2:RunInstances"]; n != 0 {
		t.Errorf("%d RunInstances calls for machines refused before launch", n)
	}
}
