package aws

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// bootstrapSecrets lists the live secrets under an AWSMachine's prefix.
func bootstrapSecrets(t *testing.T, e env, uid string) []string {
	t.Helper()
	out, err := e.clients.SM.ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{cloud.MachineSecretPrefix(uid)}}}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range out.SecretList {
		names = append(names, awssdk.ToString(s.Name))
	}
	return names
}

// userData is an instance's user data, as DescribeInstanceAttribute
// returns it to anyone allowed to call it.
func userData(t *testing.T, e env, id string) string {
	t.Helper()
	out, err := e.clients.EC2.DescribeInstanceAttribute(context.Background(), &ec2.DescribeInstanceAttributeInput{
		InstanceId: awssdk.String(id), Attribute: ec2types.InstanceAttributeNameUserData})
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(awssdk.ToString(out.UserData.Value))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A machine's bootstrap data goes through Secrets Manager: the instance's
// user data is the boothook alone, the secrets are recorded on the
// AWSMachine, the instance runs with IMDSv2 required, hop limit 1 and an
// encrypted root volume, and deleting the machine leaves no secret.
func TestAccAWSMachineBootstrapDataThroughSecretsManager(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	cluster := networkOnlyCluster(t, e, "secrets")
	machine, am := standaloneMachine(t, e, cluster, "m", "v1.36.0", infrav1.AWSMachineSpec{InstanceType: "t3.medium"})
	eventually(t, "machine running", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(am), am)
		return err == nil && ptr.Deref(am.Status.Initialization.Provisioned, false), err
	})
	if bd := am.Status.BootstrapData; !strings.HasPrefix(bd.SecretPrefix, cloud.MachineSecretPrefix(string(am.UID))) {
		t.Errorf("bootstrap data recorded as %+v", bd)
	}
	ud := userData(t, e, am.Spec.InstanceID)
	if !strings.Contains(ud, "text/cloud-boothook") || strings.Contains(ud, "user-supplied bootstrap") {
		t.Errorf("user data is not the boothook alone:\n%s", ud)
	}
	out, err := e.clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{am.Spec.InstanceID}})
	if err != nil {
		t.Fatal(err)
	}
	i := out.Reservations[0].Instances[0]
	if mo := i.MetadataOptions; mo == nil || mo.HttpTokens != ec2types.HttpTokensStateRequired || awssdk.ToInt32(mo.HttpPutResponseHopLimit) != 1 {
		t.Errorf("metadata options %+v", i.MetadataOptions)
	}
	var volumes []string
	for _, bd := range i.BlockDeviceMappings {
		volumes = append(volumes, awssdk.ToString(bd.Ebs.VolumeId))
	}
	vols, err := e.clients.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: volumes})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vols.Volumes {
		if !awssdk.ToBool(v.Encrypted) {
			t.Errorf("volume %s is not encrypted", awssdk.ToString(v.VolumeId))
		}
	}

	if err := e.c.Delete(ctx, machine); err != nil {
		t.Fatal(err)
	}
	eventually(t, "AWSMachine deleted", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(am), &infrav1.AWSMachine{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if left := bootstrapSecrets(t, e, string(am.UID)); len(left) != 0 {
		t.Errorf("bootstrap data left after the machine's delete: %v", left)
	}
}

// The reconciler dies after storing the bootstrap data and before its
// instance runs (here: RunInstances refused until the engine is gone).
// The next engine deletes those chunks, stores new ones and runs the
// instance; deleting the machine leaves neither secret nor instance.
func TestAccAWSMachineBootstrapDataSurvivesACrashBeforeRunInstances(t *testing.T) {
	first := startEngine(t)
	ctx := context.Background()
	cluster := networkOnlyCluster(t, first, "crashed")
	if err := testLab.SetAWSFaults([]map[string]any{{"action": "RunInstances", "rate": 1.0, "error": "throttling"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testLab.SetAWSFaults(nil) })
	machine, am := standaloneMachine(t, first, cluster, "m", "v1.36.0", infrav1.AWSMachineSpec{InstanceType: "t3.medium"})
	eventually(t, "bootstrap data stored", 60*time.Second, func() (bool, error) {
		err := first.c.Get(ctx, client.ObjectKeyFromObject(am), am)
		return err == nil && am.Status.BootstrapData.SecretCount > 0 && len(bootstrapSecrets(t, first, string(am.UID))) > 0, err
	})
	first.engine.Stop()
	if err := testLab.SetAWSFaults(nil); err != nil {
		t.Fatal(err)
	}

	e := startEngine(t)
	eventually(t, "machine running", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(am), am)
		return err == nil && ptr.Deref(am.Status.Initialization.Provisioned, false), err
	})
	if got := ownedInstances(t, e, cluster.Name); got != 1 {
		t.Errorf("%d instances for one machine", got)
	}
	if err := e.c.Delete(ctx, machine); err != nil {
		t.Fatal(err)
	}
	eventually(t, "AWSMachine deleted", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(am), &infrav1.AWSMachine{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if left := bootstrapSecrets(t, e, string(am.UID)); len(left) != 0 {
		t.Errorf("bootstrap data left after the machine's delete: %v", left)
	}
	if got := ownedInstances(t, e, cluster.Name); got != 0 {
		t.Errorf("%d instances left after the machine's delete", got)
	}
	// Deleted while the second engine runs: cleanups stop it before the
	// cluster's own cleanup would.
	if err := e.c.Delete(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Cluster deleted", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(cluster), &clusterv1.Cluster{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

// A machine deleted while its instance is still pending (it never read
// its bootstrap data) leaves no secret: the delete removes what the
// instance would have.
func TestAccAWSMachineDeletedBeforeBootLeavesNoSecret(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	cluster := networkOnlyCluster(t, e, "unbooted")
	if err := setAWSTiming(map[string]any{"bootDelay": "10m"}); err != nil {
		t.Fatal(err)
	}
	// The lab's own boot delay (capi-lab up's default).
	t.Cleanup(func() { _ = setAWSTiming(map[string]any{"bootDelay": "2s"}) })
	machine, am := standaloneMachine(t, e, cluster, "m", "v1.36.0", infrav1.AWSMachineSpec{InstanceType: "t3.medium"})
	eventually(t, "instance pending with its bootstrap data stored", 60*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(am), am)
		return err == nil && am.Spec.InstanceID != "" && len(bootstrapSecrets(t, e, string(am.UID))) > 0, err
	})
	if err := e.c.Delete(ctx, machine); err != nil {
		t.Fatal(err)
	}
	eventually(t, "AWSMachine deleted", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(am), &infrav1.AWSMachine{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if left := bootstrapSecrets(t, e, string(am.UID)); len(left) != 0 {
		t.Errorf("bootstrap data left after the machine's delete: %v", left)
	}
}
