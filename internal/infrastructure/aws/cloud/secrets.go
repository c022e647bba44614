package cloud

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// StoreBootstrapData stores the chunks of a machine's bootstrap data under
// prefix, a prefix of its own (see SecretPrefix). A chunk that exists
// already is one a call that failed on the way back stored: it is kept.
func (c Clients) StoreBootstrapData(ctx context.Context, cluster Cluster, machine, prefix string, chunks [][]byte) error {
	tags := []smtypes.Tag{
		{Key: aws.String(cluster.OwnerTag()), Value: aws.String(ownedValue)},
		{Key: aws.String(MachineTag), Value: aws.String(limitTagValue(machine))},
		{Key: aws.String(RoleTag), Value: aws.String("bootstrap-data")},
	}
	for i, chunk := range chunks {
		name := SecretName(prefix, i)
		in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretBinary: chunk, Tags: tags,
			Description: aws.String(fmt.Sprintf("Bootstrap data of Machine %s/%s, chunk %d of %d; the instance deletes it once read", cluster.Namespace, machine, i+1, len(chunks)))}
		_, err := c.SM.CreateSecret(ctx, in)
		var exists *smtypes.ResourceExistsException
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("storing bootstrap data %s: %w", name, err)
		}
	}
	return nil
}

// DeleteBootstrapData deletes the count chunks under prefix; those gone
// already (the instance deletes them once read) are fine.
func (c Clients) DeleteBootstrapData(ctx context.Context, prefix string, count int) error {
	for i := range count {
		if err := c.deleteSecret(ctx, SecretName(prefix, i)); err != nil {
			return fmt.Errorf("deleting bootstrap data %s: %w", SecretName(prefix, i), err)
		}
	}
	return nil
}

// deleteSecret deletes a secret at once, without Secrets Manager's
// recovery window: bootstrap data is not to be recovered.
func (c Clients) deleteSecret(ctx context.Context, name string) error {
	_, err := c.SM.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
	var notFound *smtypes.ResourceNotFoundException
	if errors.As(err, &notFound) {
		return nil
	}
	return err
}
