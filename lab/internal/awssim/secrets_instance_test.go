package awssim

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// An instance reads and deletes its bootstrap data with its instance
// profile's credentials, as CAPA's policies allow.
func TestInstanceSecretsCalls(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	subnetID, _ := testSubnet(t, e)
	run := func(edit func(*ec2.RunInstancesInput)) string {
		t.Helper()
		return *try(launch(e, subnetID, edit)).must(t).Instances[0].InstanceId
	}
	node := run(withProfile(CAPAInstanceProfiles[1], ""))
	const name = "aws.cluster.x-k8s.io/m1-0"
	try(e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretBinary: []byte("chunk")})).must(t)
	try(e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("other/m1-0"), SecretBinary: []byte("x")})).must(t)
	try(e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("aws.cluster.x-k8s.io/text"), SecretString: aws.String("x")})).must(t)

	// Injected faults are the provider's trouble, not the instance's.
	e.sim.SetFaults([]Fault{{Action: "*", Rate: 1, Error: "server"}})
	got, err := e.sim.InstanceGetSecretValue(node, e.region, name)
	if err != nil || !bytes.Equal(got, []byte("chunk")) {
		t.Fatalf("InstanceGetSecretValue = %q, %v", got, err)
	}
	if got, err := e.sim.InstanceGetSecretValue(node, e.region, "aws.cluster.x-k8s.io/text"); err != nil || got != nil {
		t.Errorf("a string secret's SecretBinary = %q, %v", got, err)
	}
	_, err = e.sim.InstanceGetSecretValue(node, "us-west-2", name)
	wantError(t, "another region", err, "ResourceNotFoundException", "")
	_, err = e.sim.InstanceGetSecretValue(node, e.region, "other/m1-0")
	wantError(t, "a secret outside CAPA's prefix", err, "AccessDeniedException", "is not authorized to perform: secretsmanager:GetSecretValue")
	if err := e.sim.InstanceDeleteSecret(node, e.region, name); err != nil {
		t.Errorf("InstanceDeleteSecret: %v", err)
	}
	if err := e.sim.InstanceDeleteSecret(node, e.region, name); err != nil {
		t.Errorf("deleting it again, forced: %v", err)
	}
	_, err = e.sim.InstanceGetSecretValue(node, e.region, name)
	wantError(t, "reading a deleted chunk", err, "ResourceNotFoundException", "")
	calls := e.sim.Calls()
	if calls["secretsmanager:GetSecretValue"] != 5 || calls["secretsmanager:DeleteSecret"] != 2 {
		t.Errorf("calls = %v", calls)
	}
	e.sim.SetFaults(nil)

	// The controllers' role may delete but not read.
	controller := run(withProfile(CAPAInstanceProfiles[2], ""))
	_, err = e.sim.InstanceGetSecretValue(controller, e.region, name)
	wantError(t, "the controllers' profile", err, "AccessDeniedException", "")

	// No profile, or no metadata endpoint: no credentials, no call.
	before := e.sim.Calls()["secretsmanager:GetSecretValue"]
	bare := run(nil)
	closed := run(func(in *ec2.RunInstancesInput) {
		withProfile(CAPAInstanceProfiles[1], "")(in)
		in.MetadataOptions = &ec2types.InstanceMetadataOptionsRequest{HttpEndpoint: ec2types.InstanceMetadataEndpointStateDisabled}
	})
	for _, id := range []string{bare, closed} {
		if _, err := e.sim.InstanceGetSecretValue(id, e.region, name); !errors.Is(err, ErrNoCredentials) {
			t.Errorf("%s: %v, want ErrNoCredentials", id, err)
		}
	}
	if after := e.sim.Calls()["secretsmanager:GetSecretValue"]; after != before {
		t.Errorf("calls without credentials were counted: %d then %d", before, after)
	}

	try(e.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{node}})).must(t)
	if _, err := e.sim.InstanceGetSecretValue(node, e.region, name); err == nil {
		t.Error("a terminated instance made a call")
	}
}
