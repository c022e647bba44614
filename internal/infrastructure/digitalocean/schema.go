package digitalocean

import (
	"regexp"
	"strings"

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
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

// Patterns of DigitalOcean identifiers, checked at plan time: those of
// DigitalOcean's API description.
var (
	regionPattern = regexp.MustCompile(`^[a-z]{3}[0-9]$`)
	uuidPattern   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	slugPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)
	imagePattern  = regexp.MustCompile(`^([0-9]+|[a-z0-9][a-z0-9.-]*)$`)
	tagPattern    = regexp.MustCompile(`^[a-zA-Z0-9_\-:]{1,255}$`)
	// sshKeyPattern is an SSH key's ID or its MD5 fingerprint.
	sshKeyPattern = regexp.MustCompile(`^([0-9]+|([0-9a-f]{2}:){15}[0-9a-f]{2})$`)
)

// ProviderBlock is the provider configuration's digitalocean block.
func (Infrastructure) ProviderBlock() pschema.SingleNestedBlock {
	return pschema.SingleNestedBlock{
		MarkdownDescription: "How the embedded DigitalOcean infrastructure reconcilers reach DigitalOcean. Nothing here is required: " +
			"the token comes from the environment by default, as in HCP Terraform workspaces.",
		Attributes: map[string]pschema.Attribute{
			"token": pschema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "API token with read and write scope. Environment: `DIGITALOCEAN_TOKEN`, then `DIGITALOCEAN_ACCESS_TOKEN`.",
			},
			"api_endpoint": pschema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "API URL, served at its root (default `https://api.digitalocean.com/`). Environment: `DIGITALOCEAN_API_URL`.",
			},
			"spaces_access_key_id": pschema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Spaces access key ID, for the machines' bootstrap data: it is stored in a private Spaces bucket of the " +
					"cluster while the droplets boot, instead of in their user data. The bucket, `capi-bootstrap-<cluster UID>`, is made " +
					"with the cluster's first machine and deleted with the cluster, so the key needs full access to Spaces. " +
					"Environment: `SPACES_ACCESS_KEY_ID`.",
			},
			"spaces_secret_access_key": pschema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "Spaces secret access key. Environment: `SPACES_SECRET_ACCESS_KEY`.",
			},
			"spaces_endpoint": pschema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Spaces URL, `{region}` standing for the bucket's region (default " +
					"`https://{region}.digitaloceanspaces.com`). Environment: `SPACES_ENDPOINT_URL`.",
			},
		},
	}
}

// ClusterAttribute is capi_cluster's digitalocean block: a DOCluster.
func (Infrastructure) ClusterAttribute() schema.SingleNestedAttribute {
	sources := func(what string) schema.ListAttribute {
		return schema.ListAttribute{
			ElementType: types.StringType, Optional: true,
			MarkdownDescription: what,
			Validators:          []validator.List{listvalidator.SizeBetween(1, 100), listvalidator.UniqueValues(), listvalidator.ValueStringsAre(validators.CIDR())},
		}
	}
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "DigitalOcean infrastructure (a `DOCluster`): a VPC, a cloud firewall around the cluster's droplets and a " +
			"load balancer for the API server. With this block the provider runs its reconcilers during apply and destroy.",
		PlanModifiers: []planmodifier.Object{infrastructure.ReplaceWhenChanged("digitalocean", "region", "vpc_uuid", "vpc_ip_range")},
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Region slug of every resource of the cluster, such as `nyc3`. Changing it replaces the cluster.",
				Validators:          []validator.String{stringvalidator.RegexMatches(regionPattern, "must be a DigitalOcean region slug such as nyc3")},
			},
			"vpc_uuid": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "An existing VPC of the region for the droplets, instead of a new one. Changing it replaces the cluster.",
				Validators:          []validator.String{stringvalidator.RegexMatches(uuidPattern, "must be a VPC UUID")},
			},
			"vpc_ip_range": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Private range of a new VPC, an RFC 1918 network of /16 to /28 (default: one DigitalOcean chooses). " +
					"Not with `vpc_uuid`. Changing it replaces the cluster.",
				Validators: []validator.String{validators.CIDR(), validators.PrivateNetwork(16, 28),
					stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("vpc_uuid"))},
			},
			"api_server_sources": sources("Networks allowed to reach the API server, through its load balancer's firewall and the droplets' " +
				"(default: everywhere, `0.0.0.0/0` and `::/0`). Include the address Terraform runs from: the provider's reconcilers reach the " +
				"API server through the load balancer. The cluster's droplets are admitted by the provider (their public addresses)."),
			"ssh_sources": sources("Networks allowed to reach the droplets' SSH port. Default: none, SSH is closed."),
			"spaces_region": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Region of the Spaces bucket that holds the machines' bootstrap data while their droplets boot. " +
					"Default: the cluster's `region`, which must then have Spaces (" + spacesRegionList() + ").",
				Validators: []validator.String{stringvalidator.OneOf(cloud.SpacesRegions...)},
			},
		},
	}
}

// spacesRegionList is the regions with Spaces, for the docs.
func spacesRegionList() string { return "`" + strings.Join(cloud.SpacesRegions, "`, `") + "`" }

// ClusterDataSourceAttribute is the digitalocean block of the capi_cluster
// data source.
func (Infrastructure) ClusterDataSourceAttribute() dschema.SingleNestedAttribute {
	str := func(desc string) dschema.StringAttribute {
		return dschema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	list := func(desc string) dschema.ListAttribute {
		return dschema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: desc}
	}
	return dschema.SingleNestedAttribute{
		Computed:            true,
		MarkdownDescription: "DigitalOcean infrastructure of the Cluster, when it is a `DOCluster` of this provider.",
		Attributes: map[string]dschema.Attribute{
			"region": str("Region."), "vpc_uuid": str("Existing VPC used, if any."), "vpc_ip_range": str("Range of a created VPC, if set."),
			"api_server_sources": list("Networks allowed to reach the API server."), "ssh_sources": list("Networks allowed to reach SSH."),
			"spaces_region": str("Region of the bootstrap data bucket, if set."),
		},
	}
}

// MachineTemplateAttributes are a droplet's settings.
func (Infrastructure) MachineTemplateAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"size": schema.StringAttribute{
			Required:            true,
			MarkdownDescription: "Droplet size slug, such as `s-2vcpu-4gb` (a control plane needs at least 2 vCPUs and 2 GiB, as kubeadm checks).",
			Validators:          []validator.String{stringvalidator.RegexMatches(slugPattern, "must be a droplet size slug such as s-2vcpu-4gb")},
		},
		"image": schema.StringAttribute{
			Required: true,
			MarkdownDescription: "Image slug or ID. It must hold kubeadm, kubelet and containerd of the machine's Kubernetes version, and " +
				"cloud-init (images built with Kubernetes image-builder do): DigitalOcean's distribution images do not.",
			Validators: []validator.String{stringvalidator.RegexMatches(imagePattern, "must be an image slug such as ubuntu-24-04-x64 or a numeric image ID")},
		},
		"ssh_keys": schema.ListAttribute{
			ElementType: types.StringType, Optional: true,
			MarkdownDescription: "SSH keys of the account (IDs or fingerprints) to install for root.",
			Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(), listvalidator.ValueStringsAre(stringvalidator.RegexMatches(sshKeyPattern, "must be an SSH key ID or MD5 fingerprint"))},
		},
		"tags": schema.ListAttribute{
			ElementType: types.StringType, Optional: true,
			MarkdownDescription: "Extra tags of the droplets (the provider adds its own).",
			Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(), listvalidator.ValueStringsAre(stringvalidator.RegexMatches(tagPattern, "must be a DigitalOcean tag: letters, digits, _, - and :"))},
		},
		"monitoring": schema.BoolAttribute{
			Optional:            true,
			MarkdownDescription: "Install DigitalOcean's metrics agent (default false).",
		},
		"insecure_inline_bootstrap_data": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(false),
			MarkdownDescription: "Put the bootstrap data in the droplet's user data instead of a Spaces bucket, for accounts " +
				"without Spaces or images without `curl`. A control plane machine's bootstrap data holds the cluster's certificate " +
				"authority and service account private keys: the droplet's metadata service serves user data to any process on the " +
				"droplet for the droplet's whole life. Default `false`: the data is in Spaces for the boot only, and the user data " +
				"holds presigned URLs (valid " + cloud.PresignedURLLifetime.String() + ") that fetch and delete it.",
			Validators: []validator.Bool{validators.WarnWhenTrue("Bootstrap data in user data",
				"With insecure_inline_bootstrap_data the bootstrap data stays in the droplets' user data for their whole life: for a "+
					"control plane machine that is the cluster's certificate authority and service account private keys, which the "+
					"droplet metadata service serves to any process on the droplet.")},
		},
	}
}

// MachineTemplateDataSourceAttributes are a droplet's settings, read only.
func (Infrastructure) MachineTemplateDataSourceAttributes() map[string]dschema.Attribute {
	str := func(desc string) dschema.StringAttribute {
		return dschema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	return map[string]dschema.Attribute{
		"size": str("Droplet size slug."), "image": str("Image slug or ID."),
		"ssh_keys":                       dschema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "SSH keys."},
		"tags":                           dschema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Extra tags."},
		"monitoring":                     dschema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the metrics agent runs."},
		"insecure_inline_bootstrap_data": dschema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the bootstrap data is in user data."},
	}
}

// MachineAttributes are capi_machine's digitalocean block: a droplet runs
// in its cluster's region.
func (i Infrastructure) MachineAttributes() map[string]schema.Attribute {
	return i.MachineTemplateAttributes()
}
