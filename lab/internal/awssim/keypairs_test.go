package awssim

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// testPublicKey is an ED25519 public key line, as ssh-keygen writes it.
const testPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPWzuCwXjZ0aOvKjKt5HlQ1XjW9ZhI0v8CQSq5v4Y3kT ops@example"

func TestKeyPairs(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	subnetID, _ := testSubnet(t, e)

	_, err := launch(e, subnetID, func(in *ec2.RunInstancesInput) { in.KeyName = aws.String("ops") })
	wantError(t, "RunInstances with a key pair that does not exist", err, "InvalidKeyPair.NotFound", "The key pair 'ops' does not exist")

	imported := try(e.ec2.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("ops"), PublicKeyMaterial: []byte(testPublicKey),
		TagSpecifications: tagSpec(ec2types.ResourceTypeKeyPair, "team", "ops")})).must(t)
	if !strings.HasPrefix(*imported.KeyPairId, "key-") || *imported.KeyFingerprint == "" || len(imported.Tags) != 1 {
		t.Errorf("imported key pair = %+v", imported)
	}
	_, err = e.ec2.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("ops"), PublicKeyMaterial: []byte(testPublicKey)})
	wantError(t, "importing a name again", err, "InvalidKeyPair.Duplicate", "The keypair 'ops' already exists.")
	_, err = e.ec2.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("bad"), PublicKeyMaterial: []byte("not a key")})
	wantError(t, "importing what is not a key", err, "InvalidKey.Format", "")

	out, err := launch(e, subnetID, func(in *ec2.RunInstancesInput) { in.KeyName = aws.String("ops") })
	if err != nil || *out.Instances[0].KeyName != "ops" {
		t.Fatalf("RunInstances with an imported key pair: %v", err)
	}

	for _, keyType := range []ec2types.KeyType{ec2types.KeyTypeRsa, ec2types.KeyTypeEd25519} {
		created := try(e.ec2.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("made-" + string(keyType)), KeyType: keyType})).must(t)
		if !strings.Contains(*created.KeyMaterial, "PRIVATE KEY-----") || *created.KeyFingerprint == "" {
			t.Errorf("created %s key pair = %+v", keyType, created)
		}
	}
	all := try(e.ec2.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})).must(t).KeyPairs
	if len(all) != 3 {
		t.Errorf("DescribeKeyPairs = %d key pairs, want 3", len(all))
	}
	byName := try(e.ec2.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{IncludePublicKey: aws.Bool(true),
		Filters: []ec2types.Filter{{Name: aws.String("key-name"), Values: []string{"op*"}}, {Name: aws.String("tag:team"), Values: []string{"ops"}}}})).must(t).KeyPairs
	if len(byName) != 1 || *byName[0].KeyPairId != *imported.KeyPairId || byName[0].KeyType != ec2types.KeyTypeEd25519 ||
		*byName[0].PublicKey != testPublicKey || *byName[0].KeyFingerprint != *imported.KeyFingerprint {
		t.Errorf("DescribeKeyPairs by name filter and tag = %+v", byName)
	}
	_, err = e.ec2.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"missing"}})
	wantError(t, "DescribeKeyPairs of a name that does not exist", err, "InvalidKeyPair.NotFound", "The key pair 'missing' does not exist")

	try(e.ec2.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("ops")})).must(t)
	try(e.ec2.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("ops")})).must(t)
	_, err = e.ec2.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: imported.KeyPairId})
	wantError(t, "DeleteKeyPair of an ID that does not exist", err, "InvalidKeyPair.NotFound", "")
	if got := countKind(e.sim.Resources(), "key-pair"); got != 2 {
		t.Errorf("%d key pairs live, want 2", got)
	}
}
