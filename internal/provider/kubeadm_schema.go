package provider

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

var (
	absolutePathPattern = regexp.MustCompile(`^/[^\x00]*$`)
	permissionsPattern  = regexp.MustCompile(`^0?[0-7]{3}$`)
	ownerPattern        = regexp.MustCompile(`^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$`)
	userNamePattern     = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	flagNamePattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	sshKeyPattern       = regexp.MustCompile(`^(ssh-|ecdsa-|sk-)\S+ \S+`)
)

// kubeadmAttribute is the kubeadm block of a machine, a deployment or (with
// controlPlane) a control plane: CABPK's KubeadmConfigSpec, minus what the
// provider sets itself (node name and provider ID).
func kubeadmAttribute(rolls string, controlPlane bool) schema.SingleNestedAttribute {
	attrs := map[string]schema.Attribute{
		"files": schema.ListNestedAttribute{
			Optional:            true,
			MarkdownDescription: "Files cloud-init writes before kubeadm runs.",
			Validators:          []validator.List{listvalidator.SizeAtLeast(1), uniquePaths{}},
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"path": schema.StringAttribute{Required: true, MarkdownDescription: "Absolute path of the file.",
					Validators: []validator.String{stringvalidator.RegexMatches(absolutePathPattern, "must be an absolute path")}},
				"content": schema.StringAttribute{Optional: true, Sensitive: true,
					MarkdownDescription: "Content of the file. It is stored in the bootstrap template and the state: for secrets use `content_from_secret`.",
					Validators:          []validator.String{stringvalidator.ExactlyOneOf(path.MatchRelative().AtParent().AtName("content_from_secret"))}},
				"content_from_secret": schema.SingleNestedAttribute{Optional: true,
					MarkdownDescription: "A key of a Secret in the cluster's namespace holding the content; CABPK reads it when it renders the bootstrap data.",
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{Required: true, MarkdownDescription: "Secret name.", Validators: []validator.String{validators.ClusterName()}},
						"key":  schema.StringAttribute{Required: true, MarkdownDescription: "Key in the Secret.", Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
					}},
				"permissions": schema.StringAttribute{Optional: true, MarkdownDescription: "Octal permissions, such as `0644` (cloud-init's default `0644`).",
					Validators: []validator.String{stringvalidator.RegexMatches(permissionsPattern, "must be octal permissions such as 0644")}},
				"owner": schema.StringAttribute{Optional: true, MarkdownDescription: "`user` or `user:group` (default `root:root`).",
					Validators: []validator.String{stringvalidator.RegexMatches(ownerPattern, "must be user or user:group")}},
				"encoding": schema.StringAttribute{Optional: true, MarkdownDescription: "Encoding of `content`: `base64`, `gzip` or `gzip+base64` (default plain text).",
					Validators: []validator.String{stringvalidator.OneOf("base64", "gzip", "gzip+base64")}},
			}},
		},
		"pre_kubeadm_commands": schema.ListAttribute{ElementType: types.StringType, Optional: true,
			MarkdownDescription: "Shell commands run before kubeadm.",
			Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))}},
		"post_kubeadm_commands": schema.ListAttribute{ElementType: types.StringType, Optional: true,
			MarkdownDescription: "Shell commands run after kubeadm.",
			Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))}},
		"users": schema.ListNestedAttribute{
			Optional:            true,
			MarkdownDescription: "Users cloud-init creates.",
			Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"name": schema.StringAttribute{Required: true, MarkdownDescription: "User name.",
					Validators: []validator.String{stringvalidator.RegexMatches(userNamePattern, "must be a user name such as admin")}},
				"ssh_authorized_keys": schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Public SSH keys of the user.",
					Validators: []validator.List{listvalidator.SizeAtLeast(1),
						listvalidator.ValueStringsAre(stringvalidator.RegexMatches(sshKeyPattern, "must be a public SSH key such as ssh-ed25519 AAAA..."))}},
				"sudo": schema.StringAttribute{Optional: true, MarkdownDescription: "sudoers rule, such as `ALL=(ALL) NOPASSWD:ALL`.",
					Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
				"groups": schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Supplementary groups.",
					Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(stringvalidator.RegexMatches(userNamePattern, "must be a group name"))}},
			}},
		},
		"ntp_servers": schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "NTP servers (enables NTP).",
			Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(validators.Host())}},
		"kubelet_extra_args": schema.MapAttribute{ElementType: types.StringType, Optional: true,
			MarkdownDescription: "kubelet flags by name without dashes, such as `max-pods`. The provider sets `provider-id` itself; a value here replaces it.",
			Validators: []validator.Map{mapvalidator.SizeAtLeast(1), mapvalidator.KeysAre(
				stringvalidator.RegexMatches(flagNamePattern, "must be a flag name without leading dashes"),
				stringvalidator.NoneOf("node-labels"))}},
		"node_labels": schema.MapAttribute{ElementType: types.StringType, Optional: true,
			MarkdownDescription: "Labels kubelet registers its node with (`--node-labels`).",
			Validators: []validator.Map{mapvalidator.SizeAtLeast(1), mapvalidator.KeysAre(validators.KubeletNodeLabel()),
				mapvalidator.ValueStringsAre(validators.LabelValue())}},
	}
	if controlPlane {
		argsMap := func(component string) schema.MapAttribute {
			return schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: fmt.Sprintf("%s flags by name without dashes (kubeadm's ClusterConfiguration).", component),
				Validators: []validator.Map{mapvalidator.SizeAtLeast(1),
					mapvalidator.KeysAre(stringvalidator.RegexMatches(flagNamePattern, "must be a flag name without leading dashes"))}}
		}
		attrs["api_server_extra_args"] = argsMap("kube-apiserver")
		attrs["api_server_cert_sans"] = schema.ListAttribute{ElementType: types.StringType, Optional: true,
			MarkdownDescription: "Extra names and addresses of the API server's serving certificate.",
			Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(validators.Host())}}
		attrs["controller_manager_extra_args"] = argsMap("kube-controller-manager")
		attrs["scheduler_extra_args"] = argsMap("kube-scheduler")
		attrs["etcd_extra_args"] = argsMap("Local etcd")
	}
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "kubeadm and cloud-init settings of the machines (Cluster API's `KubeadmConfigSpec`): files, commands, users, " +
			"NTP, kubelet arguments and node labels" + map[bool]string{true: ", and the control plane components' arguments", false: ""}[controlPlane] +
			". Nodes are named after the instance's private DNS name and kubelet reports the instance's provider ID, as Cluster API " +
			"Provider AWS's templates do. " + rolls,
		Validators: []validator.Object{validators.NotEmptyObject()},
		Attributes: attrs,
	}
}

// uniquePaths refuses two files with one path: cloud-init would write the
// second over the first.
type uniquePaths struct{}

func (uniquePaths) Description(context.Context) string { return "file paths must be unique" }
func (v uniquePaths) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (uniquePaths) ValidateList(ctx context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	seen := map[string]int{}
	for i, elem := range req.ConfigValue.Elements() {
		obj, ok := elem.(types.Object)
		if !ok || obj.IsUnknown() {
			continue
		}
		p, ok := obj.Attributes()["path"].(types.String)
		if !ok || p.IsNull() || p.IsUnknown() {
			continue
		}
		if first, dup := seen[p.ValueString()]; dup {
			resp.Diagnostics.AddAttributeError(req.Path.AtListIndex(i).AtName("path"), "Duplicate file path",
				fmt.Sprintf("Attribute %s: %q is also the path of file %d; each file needs its own path.", req.Path.AtListIndex(i).AtName("path"), p.ValueString(), first))
			continue
		}
		seen[p.ValueString()] = i
	}
}
