package cloud

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// ensureTags adds to a resource the tags of want that it lacks or has
// with another value.
func (c Clients) ensureTags(ctx context.Context, id string, have []ec2types.Tag, want map[string]string) error {
	var missing []ec2types.Tag
	for k, v := range want {
		if tagValue(have, k) != v {
			missing = append(missing, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	if len(missing) == 0 {
		return nil
	}
	err := retryNotFound(ctx, func() error {
		_, err := c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: missing})
		return err
	})
	if err != nil {
		return fmt.Errorf("tagging %s: %w", id, err)
	}
	return nil
}

func tagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}
