package capiobj

import (
	"context"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/utils/ptr"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
)

// KubeadmModel is the kubeadm block of a machine: what CABPK puts in its
// cloud-init and kubeadm configuration.
type KubeadmModel struct {
	Files               []KubeadmFileModel `tfsdk:"files"`
	PreKubeadmCommands  types.List         `tfsdk:"pre_kubeadm_commands"`
	PostKubeadmCommands types.List         `tfsdk:"post_kubeadm_commands"`
	Users               []KubeadmUserModel `tfsdk:"users"`
	NTPServers          types.List         `tfsdk:"ntp_servers"`
	KubeletExtraArgs    types.Map          `tfsdk:"kubelet_extra_args"`
	NodeLabels          types.Map          `tfsdk:"node_labels"`
}

// ControlPlaneKubeadmModel adds the ClusterConfiguration's control plane
// components to a control plane's kubeadm block.
type ControlPlaneKubeadmModel struct {
	KubeadmModel
	APIServerExtraArgs         types.Map  `tfsdk:"api_server_extra_args"`
	APIServerCertSANs          types.List `tfsdk:"api_server_cert_sans"`
	ControllerManagerExtraArgs types.Map  `tfsdk:"controller_manager_extra_args"`
	SchedulerExtraArgs         types.Map  `tfsdk:"scheduler_extra_args"`
	EtcdExtraArgs              types.Map  `tfsdk:"etcd_extra_args"`
}

// KubeadmFileModel is a file cloud-init writes before kubeadm runs.
type KubeadmFileModel struct {
	Path              types.String       `tfsdk:"path"`
	Content           types.String       `tfsdk:"content"`
	ContentFromSecret *SecretKeyRefModel `tfsdk:"content_from_secret"`
	Permissions       types.String       `tfsdk:"permissions"`
	Owner             types.String       `tfsdk:"owner"`
	Encoding          types.String       `tfsdk:"encoding"`
}

// SecretKeyRefModel names a key of a Secret in the cluster's namespace.
type SecretKeyRefModel struct {
	Name types.String `tfsdk:"name"`
	Key  types.String `tfsdk:"key"`
}

// KubeadmUserModel is a user cloud-init creates.
type KubeadmUserModel struct {
	Name              types.String `tfsdk:"name"`
	SSHAuthorizedKeys types.List   `tfsdk:"ssh_authorized_keys"`
	Sudo              types.String `tfsdk:"sudo"`
	Groups            types.List   `tfsdk:"groups"`
}

// kubelet arguments the provider manages itself.
const nodeLabelsArg = "node-labels"

// expandKubeadm sets a machine's kubeadm settings on spec, and its kubelet
// settings on each node registration (init and join for a control plane).
func expandKubeadm(ctx context.Context, m *KubeadmModel, spec *bootstrapv1.KubeadmConfigSpec, diags *diag.Diagnostics, regs ...*bootstrapv1.NodeRegistrationOptions) {
	if m == nil {
		return
	}
	for _, f := range m.Files {
		file := bootstrapv1.File{
			Path: f.Path.ValueString(), Content: f.Content.ValueString(), Permissions: f.Permissions.ValueString(),
			Owner: f.Owner.ValueString(), Encoding: bootstrapv1.Encoding(f.Encoding.ValueString()),
		}
		if s := f.ContentFromSecret; s != nil {
			file.ContentFrom.Secret = bootstrapv1.SecretFileSource{Name: s.Name.ValueString(), Key: s.Key.ValueString()}
		}
		spec.Files = append(spec.Files, file)
	}
	spec.PreKubeadmCommands = tfconv.Strings(ctx, m.PreKubeadmCommands, diags)
	spec.PostKubeadmCommands = tfconv.Strings(ctx, m.PostKubeadmCommands, diags)
	for _, u := range m.Users {
		spec.Users = append(spec.Users, bootstrapv1.User{
			Name: u.Name.ValueString(), Sudo: u.Sudo.ValueString(),
			SSHAuthorizedKeys: tfconv.Strings(ctx, u.SSHAuthorizedKeys, diags),
			Groups:            strings.Join(tfconv.Strings(ctx, u.Groups, diags), ", "),
		})
	}
	if servers := tfconv.Strings(ctx, m.NTPServers, diags); len(servers) > 0 {
		spec.NTP = bootstrapv1.NTP{Servers: servers, Enabled: ptr.To(true)}
	}
	args := tfconv.StringMap(ctx, m.KubeletExtraArgs, diags)
	if labels := tfconv.StringMap(ctx, m.NodeLabels, diags); len(labels) > 0 {
		if args == nil {
			args = map[string]string{}
		}
		args[nodeLabelsArg] = joinSorted(labels, "=", ",")
	}
	for _, reg := range regs {
		// The user's arguments win over the provider's of the same name.
		reg.KubeletExtraArgs = mergeArgs(reg.KubeletExtraArgs, args)
	}
}

// expandControlPlaneKubeadm adds the control plane components' settings.
func expandControlPlaneKubeadm(ctx context.Context, m *ControlPlaneKubeadmModel, spec *bootstrapv1.KubeadmConfigSpec, diags *diag.Diagnostics) {
	if m == nil {
		return
	}
	expandKubeadm(ctx, &m.KubeadmModel, spec, diags, &spec.InitConfiguration.NodeRegistration, &spec.JoinConfiguration.NodeRegistration)
	cc := &spec.ClusterConfiguration
	cc.APIServer.ExtraArgs = mergeArgs(nil, tfconv.StringMap(ctx, m.APIServerExtraArgs, diags))
	cc.APIServer.CertSANs = tfconv.Strings(ctx, m.APIServerCertSANs, diags)
	cc.ControllerManager.ExtraArgs = mergeArgs(cc.ControllerManager.ExtraArgs, tfconv.StringMap(ctx, m.ControllerManagerExtraArgs, diags))
	cc.Scheduler.ExtraArgs = mergeArgs(nil, tfconv.StringMap(ctx, m.SchedulerExtraArgs, diags))
	cc.Etcd.Local.ExtraArgs = mergeArgs(nil, tfconv.StringMap(ctx, m.EtcdExtraArgs, diags))
}

// mergeArgs sets args over base, keeping base's order and adding new names
// sorted, so that a template's hash only changes with its content.
func mergeArgs(base []bootstrapv1.Arg, args map[string]string) []bootstrapv1.Arg {
	out := make([]bootstrapv1.Arg, 0, len(base)+len(args))
	seen := map[string]bool{}
	for _, a := range base {
		if v, ok := args[a.Name]; ok {
			a.Value = ptr.To(v)
		}
		seen[a.Name] = true
		out = append(out, a)
	}
	names := make([]string, 0, len(args))
	for name := range args {
		if !seen[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, bootstrapv1.Arg{Name: name, Value: ptr.To(args[name])})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func joinSorted(m map[string]string, kv, sep string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+kv+m[k])
	}
	return strings.Join(parts, sep)
}

// flattenKubeadm reads a machine's kubeadm settings back; reg is its node
// registration (init's for a control plane). The provider's own node
// identity arguments are not the user's and are left out. Nil when
// nothing is set.
func flattenKubeadm(ctx context.Context, spec bootstrapv1.KubeadmConfigSpec, reg bootstrapv1.NodeRegistrationOptions, own bootstrapv1.NodeRegistrationOptions, diags *diag.Diagnostics) *KubeadmModel {
	m := &KubeadmModel{
		PreKubeadmCommands:  tfconv.StringList(ctx, spec.PreKubeadmCommands, diags),
		PostKubeadmCommands: tfconv.StringList(ctx, spec.PostKubeadmCommands, diags),
		NTPServers:          tfconv.StringList(ctx, spec.NTP.Servers, diags),
	}
	for _, f := range spec.Files {
		file := KubeadmFileModel{
			Path: types.StringValue(f.Path), Content: tfconv.OptionalString(f.Content), Permissions: tfconv.OptionalString(f.Permissions),
			Owner: tfconv.OptionalString(f.Owner), Encoding: tfconv.OptionalString(string(f.Encoding)),
		}
		if s := f.ContentFrom.Secret; s.Name != "" {
			file.ContentFromSecret = &SecretKeyRefModel{Name: types.StringValue(s.Name), Key: types.StringValue(s.Key)}
		}
		m.Files = append(m.Files, file)
	}
	for _, u := range spec.Users {
		var groups []string
		for _, g := range strings.Split(u.Groups, ",") {
			if g = strings.TrimSpace(g); g != "" {
				groups = append(groups, g)
			}
		}
		m.Users = append(m.Users, KubeadmUserModel{
			Name: types.StringValue(u.Name), Sudo: tfconv.OptionalString(u.Sudo),
			SSHAuthorizedKeys: tfconv.StringList(ctx, u.SSHAuthorizedKeys, diags), Groups: tfconv.StringList(ctx, groups, diags),
		})
	}
	args, labels := map[string]string{}, map[string]string{}
	for _, a := range withoutArgs(reg.KubeletExtraArgs, own.KubeletExtraArgs) {
		switch v := ptr.Deref(a.Value, ""); {
		case a.Name == nodeLabelsArg:
			for _, kv := range strings.Split(v, ",") {
				if k, val, ok := strings.Cut(kv, "="); ok {
					labels[k] = val
				}
			}
		default:
			args[a.Name] = v
		}
	}
	m.KubeletExtraArgs = flattenArgs(ctx, args, diags)
	m.NodeLabels = flattenArgs(ctx, labels, diags)
	if len(m.Files) == 0 && len(m.Users) == 0 && m.PreKubeadmCommands.IsNull() && m.PostKubeadmCommands.IsNull() &&
		m.NTPServers.IsNull() && m.KubeletExtraArgs.IsNull() && m.NodeLabels.IsNull() {
		return nil
	}
	return m
}

// withoutArgs drops from args those that own has with the same value: the
// provider's, not the user's.
func withoutArgs(args, own []bootstrapv1.Arg) []bootstrapv1.Arg {
	var out []bootstrapv1.Arg
	for _, a := range args {
		mine := false
		for _, o := range own {
			mine = mine || (a.Name == o.Name && ptr.Deref(a.Value, "") == ptr.Deref(o.Value, ""))
		}
		if !mine {
			out = append(out, a)
		}
	}
	return out
}

// flattenControlPlaneKubeadm reads a control plane's kubeadm settings,
// leaving out those the cloud's nodes need (the provider's, not the
// user's).
func flattenControlPlaneKubeadm(ctx context.Context, spec bootstrapv1.KubeadmConfigSpec, nodes infrastructure.Nodes, diags *diag.Diagnostics) *ControlPlaneKubeadmModel {
	cc := spec.ClusterConfiguration
	own := nodes.ControlPlane
	controllerManagerArgs := withoutArgs(cc.ControllerManager.ExtraArgs, nodes.ControllerManagerArgs)
	m := &ControlPlaneKubeadmModel{
		APIServerExtraArgs:         flattenArgList(ctx, cc.APIServer.ExtraArgs, diags),
		APIServerCertSANs:          tfconv.StringList(ctx, cc.APIServer.CertSANs, diags),
		ControllerManagerExtraArgs: flattenArgList(ctx, controllerManagerArgs, diags),
		SchedulerExtraArgs:         flattenArgList(ctx, cc.Scheduler.ExtraArgs, diags),
		EtcdExtraArgs:              flattenArgList(ctx, cc.Etcd.Local.ExtraArgs, diags),
	}
	node := flattenKubeadm(ctx, spec, spec.InitConfiguration.NodeRegistration, own, diags)
	if node != nil {
		m.KubeadmModel = *node
	} else {
		m.KubeadmModel = KubeadmModel{PreKubeadmCommands: types.ListNull(types.StringType), PostKubeadmCommands: types.ListNull(types.StringType),
			NTPServers: types.ListNull(types.StringType), KubeletExtraArgs: types.MapNull(types.StringType), NodeLabels: types.MapNull(types.StringType)}
		if m.APIServerExtraArgs.IsNull() && m.APIServerCertSANs.IsNull() && m.ControllerManagerExtraArgs.IsNull() &&
			m.SchedulerExtraArgs.IsNull() && m.EtcdExtraArgs.IsNull() {
			return nil
		}
	}
	return m
}

func flattenArgList(ctx context.Context, args []bootstrapv1.Arg, diags *diag.Diagnostics) types.Map {
	m := map[string]string{}
	for _, a := range args {
		m[a.Name] = ptr.Deref(a.Value, "")
	}
	return flattenArgs(ctx, m, diags)
}

func flattenArgs(ctx context.Context, m map[string]string, diags *diag.Diagnostics) types.Map {
	if len(m) == 0 {
		return types.MapNull(types.StringType)
	}
	v, d := types.MapValueFrom(ctx, types.StringType, m)
	diags.Append(d...)
	return v
}
