// Package cloud makes the EC2 and ELBv2 calls of the AWS infrastructure
// provider: the network of a cluster (VPC, subnets, gateways, routes,
// security groups), its API server load balancer, and instances; and at
// delete, what a cloud controller manager left for Services. Every
// create is idempotent: resources are found by their ownership tags (and
// instances and NAT gateways by client token) before anything is created,
// so a retry or a crashed process never makes a second one.
package cloud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
)

// Clients are the AWS API clients of one region.
type Clients struct {
	EC2 *ec2.Client
	ELB *elbv2.Client
	// SM stores the instances' bootstrap data (see BoothookUserData).
	SM *secretsmanager.Client
}

// Settings say how to reach AWS; empty fields fall back to the SDK's
// standard chain (environment, shared config, instance role).
type Settings struct {
	Profile string
	// EC2Endpoint and ELBEndpoint override the service endpoints;
	// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_EC2 work as usual too.
	EC2Endpoint            string
	ELBEndpoint            string
	SecretsManagerEndpoint string
}

// NewClients builds the clients of a region with the SDK's standard
// retryer, which retries throttling and transient errors with backoff.
func NewClients(ctx context.Context, region string, s Settings) (Clients, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if s.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return Clients{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return Clients{
		EC2: ec2.NewFromConfig(cfg, func(o *ec2.Options) {
			if s.EC2Endpoint != "" {
				o.BaseEndpoint = aws.String(s.EC2Endpoint)
			}
		}),
		ELB: elbv2.NewFromConfig(cfg, func(o *elbv2.Options) {
			if s.ELBEndpoint != "" {
				o.BaseEndpoint = aws.String(s.ELBEndpoint)
			}
		}),
		SM: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			if s.SecretsManagerEndpoint != "" {
				o.BaseEndpoint = aws.String(s.SecretsManagerEndpoint)
			}
		}),
	}, nil
}

// Tag keys of the resources this provider creates.
const (
	// clusterTagPrefix + "<namespace>/<name>" = "owned" marks what a
	// cluster owns, as Cluster API Provider AWS does with its own prefix.
	clusterTagPrefix = identity.Prefix + "cluster/"
	// RoleTag names a resource's part in the cluster (vpc, public-subnet, ...).
	RoleTag = identity.RoleLabel
	// ZoneTag names the availability zone a per-zone resource serves.
	ZoneTag = identity.Prefix + "zone"
	// MachineTag names the Machine an instance belongs to.
	MachineTag = identity.Prefix + "machine"
	ownedValue = "owned"
)

// Tags that Kubernetes' AWS cloud provider (the cloud controller manager)
// reads, as CAPA sets them.
const (
	// cloudProviderTagPrefix + "<cluster name>" = "owned" gives the CCM its
	// cluster ID (from its own instance's tags) and finds the cluster's
	// subnets and security groups.
	cloudProviderTagPrefix = "kubernetes.io/cluster/"
	// ELBRoleTag marks the public subnets for internet-facing Service load
	// balancers, InternalELBRoleTag the private ones for internal ones.
	ELBRoleTag         = "kubernetes.io/role/elb"
	InternalELBRoleTag = "kubernetes.io/role/internal-elb"
)

// Cluster identifies a cluster's resources.
type Cluster struct {
	Namespace, Name string
	// UID of the AWSCluster: client tokens derive from it.
	UID string
}

// OwnerTag is the tag key that marks what c owns.
func (c Cluster) OwnerTag() string { return tagKey(clusterTagPrefix, c.Namespace+"/"+c.Name) }

// CloudProviderTag is the tag key kubernetes.io/cluster/<cluster name>.
func (c Cluster) CloudProviderTag() string { return tagKey(cloudProviderTagPrefix, c.Name) }

// Tag limits of EC2 and ELBv2.
const (
	maxTagKeyLength   = 128
	maxTagValueLength = 256
)

// tagKey is prefix+name, or, when that is longer than AWS allows, as
// much of name as fits followed by a hash of all of it: still one key
// per name, and still readable.
func tagKey(prefix, name string) string {
	if len(prefix)+len(name) <= maxTagKeyLength {
		return prefix + name
	}
	sum := sha256.Sum256([]byte(name))
	hash := hex.EncodeToString(sum[:])[:10]
	return prefix + name[:maxTagKeyLength-len(prefix)-len(hash)-1] + "-" + hash
}

// limitTagValue cuts a tag value to AWS's limit.
func limitTagValue(v string) string {
	if len(v) > maxTagValueLength {
		return v[:maxTagValueLength]
	}
	return v
}

// tags returns the tags of a new resource of c with role (and zone, when
// the resource is per zone).
func (c Cluster) tags(role, zone string, extra map[string]string) map[string]string {
	name := c.Name + "-" + role
	t := map[string]string{c.OwnerTag(): ownedValue, RoleTag: role}
	if zone != "" {
		t[ZoneTag] = zone
		name += "-" + zone
	}
	t["Name"] = name
	for k, v := range extra {
		t[k] = v
	}
	for k, v := range t {
		t[k] = limitTagValue(v)
	}
	return t
}

// filters selects c's resources with role (and zone).
func (c Cluster) filters(role, zone string) []ec2types.Filter {
	f := []ec2types.Filter{
		{Name: aws.String("tag:" + c.OwnerTag()), Values: []string{ownedValue}},
		{Name: aws.String("tag:" + RoleTag), Values: []string{role}},
	}
	if zone != "" {
		f = append(f, ec2types.Filter{Name: aws.String("tag:" + ZoneTag), Values: []string{zone}})
	}
	return f
}

func tagSpecs(rt ec2types.ResourceType, tags map[string]string) []ec2types.TagSpecification {
	spec := ec2types.TagSpecification{ResourceType: rt}
	for k, v := range tags {
		spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return []ec2types.TagSpecification{spec}
}

// errorCode returns an AWS API error's code, or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// IsNotFound reports an AWS "does not exist" error.
func IsNotFound(err error) bool {
	switch errorCode(err) {
	case "InvalidInstanceID.NotFound", "InvalidVpcID.NotFound", "InvalidSubnetID.NotFound", "InvalidGroup.NotFound",
		"InvalidRouteTableID.NotFound", "InvalidInternetGatewayID.NotFound", "InvalidAllocationID.NotFound",
		"NatGatewayNotFound", "LoadBalancerNotFound", "TargetGroupNotFound", "ListenerNotFound", "InvalidAssociationID.NotFound",
		"InvalidGatewayID.NotFound", "InvalidNatGatewayID.NotFound", "InvalidVolume.NotFound":
		return true
	}
	return false
}

// consistencyTimeout bounds how long a call naming a resource made moments
// ago is retried while EC2 does not know it yet.
const consistencyTimeout = 20 * time.Second

// retryNotFound calls f until it fails with something other than a
// not-found error. EC2 is eventually consistent: a resource just created
// can be unknown for some seconds to calls that name it (attaching a
// gateway to a new VPC, a rule on a new security group), as CAPA's
// retries on those codes acknowledge. Such a call changed nothing, so it
// is safe to repeat.
func retryNotFound(ctx context.Context, f func() error) error {
	// Most resources become known within a second or two: look often
	// then, and back off after.
	start, delay := time.Now(), 250*time.Millisecond
	for {
		err := f()
		if !IsNotFound(err) || time.Since(start)+delay > consistencyTimeout {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		if time.Since(start) > 2*time.Second {
			delay = min(2*delay, 2*time.Second)
		}
	}
}

// IsDependencyViolation reports a delete that has to wait for dependents.
func IsDependencyViolation(err error) bool {
	switch errorCode(err) {
	case "DependencyViolation", "ResourceInUse", "InvalidIPAddress.InUse":
		return true
	}
	return false
}
