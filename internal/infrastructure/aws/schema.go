package aws

import (
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/int32validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

// Patterns of AWS identifiers, checked at plan time.
var (
	regionPattern       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	vpcIDPattern        = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetIDPattern     = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	amiPattern          = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)
	awsAccountPattern   = regexp.MustCompile(`^(\d{12}|self|amazon|aws-marketplace)$`)
	instanceTypePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
)

// ProviderBlock is the provider configuration's aws block.
func (Infrastructure) ProviderBlock() pschema.SingleNestedBlock {
	return pschema.SingleNestedBlock{
		MarkdownDescription: "How the embedded AWS infrastructure reconcilers reach AWS. Credentials always come from the " +
			"AWS SDK's standard chain (environment, shared configuration and profile, web identity, instance role); none is set here.",
		Attributes: map[string]pschema.Attribute{
			"profile": pschema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Shared configuration profile. Environment: `AWS_PROFILE`.",
			},
			"ec2_endpoint": pschema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "EC2 endpoint URL. `AWS_ENDPOINT_URL_EC2` and `AWS_ENDPOINT_URL` work as well.",
			},
			"elb_endpoint": pschema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Elastic Load Balancing v2 endpoint URL. `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2` and `AWS_ENDPOINT_URL` work as well.",
			},
			"secretsmanager_endpoint": pschema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "AWS Secrets Manager endpoint URL, where the instances' bootstrap data is stored. `AWS_ENDPOINT_URL_SECRETS_MANAGER` and `AWS_ENDPOINT_URL` work as well.",
			},
		},
	}
}

// ClusterAttribute is capi_cluster's aws block: an AWSCluster.
func (Infrastructure) ClusterAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "AWS infrastructure (an `AWSCluster`): a VPC with a public and a private subnet per zone, an internet " +
			"gateway, NAT gateways, route tables, security groups and a network load balancer for the API server. " +
			"With this block the provider runs Cluster API's reconcilers during apply and destroy.",
		PlanModifiers: []planmodifier.Object{infrastructure.ReplaceWhenChanged("aws", "region", "vpc_id", "subnet_ids")},
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Region of every resource of the cluster, such as `us-east-1`. Changing it replaces the cluster.",
				Validators:          []validator.String{stringvalidator.RegexMatches(regionPattern, "must be an AWS region such as us-east-1")},
			},
			"vpc_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "An existing VPC, with `subnet_ids`, instead of a new one: the cluster uses its subnets, gateways and " +
					"routes as they are and creates only its security groups, load balancer and instances in it (nothing of the VPC's is " +
					"deleted with the cluster). Changing it replaces the cluster.",
				Validators: []validator.String{stringvalidator.RegexMatches(vpcIDPattern, "must be a VPC ID such as vpc-0123456789abcdef0"),
					stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("subnet_ids"))},
			},
			"subnet_ids": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Existing subnets of `vpc_id`. Those whose route table sends `0.0.0.0/0` to an internet gateway " +
					"are public and take the API server's load balancer; the others are private and take the machines, their zones " +
					"becoming the cluster's failure domains. The tags `kubernetes.io/role/elb` and `kubernetes.io/role/internal-elb` " +
					"say it instead where set. At least one of each. Changing them replaces the cluster.",
				Validators: []validator.List{listvalidator.SizeBetween(2, 24), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(stringvalidator.RegexMatches(subnetIDPattern, "must be a subnet ID such as subnet-0123456789abcdef0")),
					listvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("vpc_id")),
					listvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("availability_zones"),
						path.MatchRelative().AtParent().AtName("nat_gateway_per_zone"))},
			},
			"vpc_cidr": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "CIDR of a new VPC (default `10.0.0.0/16`), /16 to /24: subnets are /+4 blocks of it, two per zone. Not with `vpc_id`.",
				Validators: []validator.String{validators.CIDR(),
					stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("vpc_id"))},
			},
			"availability_zones": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Zones with subnets, which become the cluster's failure domains: distinct zones of `region`. Default: the region's first three.",
				Validators: []validator.List{listvalidator.SizeBetween(1, 6), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(validators.AWSZone())},
			},
			"nat_gateway_per_zone": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "One NAT gateway per zone instead of one for the cluster (default false).",
			},
			"cloud_controller_manager": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Run the AWS cloud controller manager (an add-on on the control plane nodes) and let it initialise the " +
					"nodes, as Cluster API Provider AWS's default template does: kubelet and the controller manager get `cloud-provider: " +
					"external`, and Service load balancers work. It needs the control plane's `iam_instance_profile` to allow what Cluster " +
					"API Provider AWS's control-plane policy allows (EC2 and Elastic Load Balancing) and reads the cluster from the " +
					"`kubernetes.io/cluster/<name>` tag of its instance. Default false: kubelet reports the provider ID itself, which needs " +
					"no cloud permission. Workers keep kubelet's provider ID either way; give them `cloud-provider = \"external\"` in " +
					"`kubeadm.kubelet_extra_args` to have the CCM initialise them too.",
			},
		},
	}
}

// ClusterDataSourceAttribute is the aws block of the capi_cluster data
// source.
func (Infrastructure) ClusterDataSourceAttribute() dschema.SingleNestedAttribute {
	str := func(desc string) dschema.StringAttribute {
		return dschema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	return dschema.SingleNestedAttribute{
		Computed:            true,
		MarkdownDescription: "AWS infrastructure of the Cluster, when it is an `AWSCluster` of this provider.",
		Attributes: map[string]dschema.Attribute{
			"region":                   str("Region."),
			"vpc_id":                   str("Existing VPC used, if any."),
			"subnet_ids":               dschema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Existing subnets used, if any."},
			"vpc_cidr":                 str("CIDR of a created VPC, if set."),
			"availability_zones":       dschema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Zones with subnets."},
			"nat_gateway_per_zone":     dschema.BoolAttribute{Computed: true, MarkdownDescription: "One NAT gateway per zone."},
			"cloud_controller_manager": dschema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the AWS cloud controller manager initialises the nodes."},
		},
	}
}

// MachineTemplateDataSourceAttributes are an EC2 instance's settings, read
// only.
func (Infrastructure) MachineTemplateDataSourceAttributes() map[string]dschema.Attribute {
	str := func(desc string) dschema.StringAttribute {
		return dschema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	return map[string]dschema.Attribute{
		"ami": str("AMI ID, when set."), "instance_type": str("Instance type."),
		"image_lookup": dschema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: "How the AMI is looked up when `ami` is not set (null: Cluster API's published images).",
			Attributes: map[string]dschema.Attribute{
				"owner": str("Image owner."), "name_format": str("Image name pattern."), "base_os": str("Operating system."),
			},
		},
		"root_volume_size": dschema.Int32Attribute{Computed: true, MarkdownDescription: "Root volume size in GiB."},
		"ssh_key_name":     str("EC2 key pair."), "iam_instance_profile": str("IAM instance profile."),
		"root_volume_kms_key_id": str("KMS key of the root volume, when set."),
		"metadata_options": dschema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: "Metadata options, when set (null: IMDSv2 only, hop limit 1).",
			Attributes: map[string]dschema.Attribute{
				"http_tokens":                 str("`required` or `optional`."),
				"http_put_response_hop_limit": dschema.Int32Attribute{Computed: true, MarkdownDescription: "Hop limit."},
			},
		},
		"insecure_skip_secrets_manager": dschema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the bootstrap data is in user data."},
	}
}

// MachineAttributes are capi_machine's aws block: an instance's settings
// and its zone.
func (i Infrastructure) MachineAttributes() map[string]schema.Attribute {
	attrs := i.MachineTemplateAttributes()
	attrs["availability_zone"] = schema.StringAttribute{
		Optional:            true,
		Validators:          []validator.String{validators.AWSZone()},
		MarkdownDescription: "Failure domain (availability zone) of the machine. Default: Cluster API picks one of the cluster's.",
	}
	return attrs
}

// MachineTemplateAttributes are an EC2 instance's settings.
func (Infrastructure) MachineTemplateAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"ami": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "AMI ID, such as `ami-0123456789abcdef0`. It must hold kubeadm, kubelet and containerd of the machine's " +
				"Kubernetes version, and cloud-init (images built with Kubernetes image-builder do); the apply checks that it exists, its " +
				"architecture and its root device. A version change keeps this image: set the new version's image with it. " +
				"Default: the newest image that `image_lookup` finds for the machine's version, so that an upgrade boots new binaries.",
			Validators: []validator.String{
				stringvalidator.RegexMatches(amiPattern, "must be an AMI ID such as ami-0123456789abcdef0"),
				stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("image_lookup")),
			},
		},
		"image_lookup": schema.SingleNestedAttribute{
			Optional: true,
			MarkdownDescription: "How the AMI is found when `ami` is not set: the newest available image of `owner` whose name matches " +
				"`name_format` for the machine's Kubernetes version. Defaults are Cluster API's published images (Cluster API " +
				"Provider AWS's lookup), which are for trying things out; production clusters use images of their own.",
			Attributes: map[string]schema.Attribute{
				"owner": schema.StringAttribute{
					Optional:            true,
					MarkdownDescription: "AWS account that owns the images (default `819546954734`, Cluster API's).",
					Validators:          []validator.String{stringvalidator.RegexMatches(awsAccountPattern, "must be a 12-digit AWS account ID, self, amazon or aws-marketplace")},
				},
				"name_format": schema.StringAttribute{
					Optional: true,
					MarkdownDescription: "Image name pattern, a Go template with `{{.BaseOS}}` and `{{.K8sVersion}}` (the version without its " +
						"leading `v`) and EC2's `*` and `?` wildcards (default `capa-ami-{{.BaseOS}}-?{{.K8sVersion}}-*`).",
				},
				"base_os": schema.StringAttribute{
					Optional:            true,
					MarkdownDescription: "Operating system of the image, for `{{.BaseOS}}` (default `ubuntu-24.04`).",
				},
			},
		},
		"instance_type": schema.StringAttribute{
			Required:            true,
			MarkdownDescription: "EC2 instance type, such as `t3.large`.",
			Validators:          []validator.String{stringvalidator.RegexMatches(instanceTypePattern, "must be an EC2 instance type such as t3.large")},
		},
		"root_volume_size": schema.Int32Attribute{
			Optional:            true,
			MarkdownDescription: "Root volume size in GiB, on the image's root device; at least the image's snapshot size. Default: the image's.",
			Validators:          []validator.Int32{int32validator.Between(8, 16384)},
		},
		"ssh_key_name": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "Existing EC2 key pair.",
		},
		"iam_instance_profile": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "Existing IAM instance profile name. Unless `insecure_skip_secrets_manager` is set, its role must allow " +
				"`secretsmanager:GetSecretValue` and `secretsmanager:DeleteSecret` on `arn:aws:secretsmanager:*:*:secret:aws.cluster.x-k8s.io/*`: " +
				"the instance reads its bootstrap data there and deletes it. Default: the profiles `clusterawsadm bootstrap iam` creates for " +
				"Cluster API Provider AWS, whose roles allow that: `control-plane.cluster-api-provider-aws.sigs.k8s.io` for the control plane, " +
				"`nodes.cluster-api-provider-aws.sigs.k8s.io` for other machines (none with `insecure_skip_secrets_manager`).",
		},
		"root_volume_kms_key_id": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "KMS key (ID, ARN or alias) that encrypts the root volume. The root volume is always encrypted; " +
				"without a key, with the account's default EBS key.",
			Validators: []validator.String{stringvalidator.LengthBetween(1, 2048)},
		},
		"metadata_options": schema.SingleNestedAttribute{
			Optional: true,
			MarkdownDescription: "How the instance reaches its metadata service. Default: IMDSv2 only, hop limit 1, so that pods " +
				"(one network hop away) cannot read the node role's credentials.",
			Attributes: map[string]schema.Attribute{
				"http_tokens": schema.StringAttribute{
					Optional:            true,
					MarkdownDescription: "`required` (IMDSv2 only, default) or `optional` (IMDSv1 too).",
					Validators:          []validator.String{stringvalidator.OneOf("required", "optional")},
				},
				"http_put_response_hop_limit": schema.Int32Attribute{
					Optional:            true,
					MarkdownDescription: "Network hops the metadata service's answers travel, 1 to 64 (default 1).",
					Validators:          []validator.Int32{int32validator.Between(1, 64)},
				},
			},
		},
		"insecure_skip_secrets_manager": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(false),
			MarkdownDescription: "Put the bootstrap data in the instance's user data instead of AWS Secrets Manager, for images " +
				"without the AWS CLI. A control plane machine's bootstrap data holds the cluster's certificate authority and service " +
				"account private keys: in user data, anyone allowed `ec2:DescribeInstanceAttribute`, and any process on the node that " +
				"reaches the metadata service, can read them for the instance's life. Default `false`.",
			Validators: []validator.Bool{validators.WarnWhenTrue("Bootstrap data in user data",
				"With insecure_skip_secrets_manager the bootstrap data stays in the instances' user data for their whole life: for a control "+
					"plane machine that is the cluster's certificate authority and service account private keys, readable with "+
					"ec2:DescribeInstanceAttribute and, from the node, through the instance metadata service.")},
		},
	}
}
