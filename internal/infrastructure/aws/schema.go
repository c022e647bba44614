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
		PlanModifiers: []planmodifier.Object{infrastructure.ReplaceWhenChanged("aws", "region", "vpc_id")},
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Region of every resource of the cluster, such as `us-east-1`. Changing it replaces the cluster.",
				Validators:          []validator.String{stringvalidator.RegexMatches(regionPattern, "must be an AWS region such as us-east-1")},
			},
			"vpc_id": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "An existing VPC to create the subnets in, instead of a new VPC.",
				Validators:          []validator.String{stringvalidator.RegexMatches(vpcIDPattern, "must be a VPC ID such as vpc-0123456789abcdef0")},
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
			Optional:            true,
			MarkdownDescription: "Existing IAM instance profile name.",
		},
	}
}
