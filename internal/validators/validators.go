// Package validators holds plan-time checks for Kubernetes and Cluster API
// values that terraform-plugin-framework-validators does not cover. Each
// message names the rule; the framework names the attribute.
package validators

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "sigs.k8s.io/cluster-api/util/yaml"
)

// stringRule adapts a check that returns the broken rules of a value.
type stringRule struct {
	description string
	check       func(string) []string
}

func (r stringRule) Description(context.Context) string             { return r.description }
func (r stringRule) MarkdownDescription(ctx context.Context) string { return r.Description(ctx) }

func (r stringRule) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	value := req.ConfigValue.ValueString()
	if problems := r.check(value); len(problems) > 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Attribute Value",
			fmt.Sprintf("Attribute %s must be %s, got %q: %s.", req.Path, r.description, abbreviate(value), strings.Join(problems, "; ")))
	}
}

// abbreviate keeps long values (manifests, say) from filling the message.
func abbreviate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max-3] + "..."
}

// DNS1123Label accepts names such as namespaces: at most 63 lower-case
// alphanumerics or '-', starting and ending with an alphanumeric.
func DNS1123Label() validator.String {
	return stringRule{description: "a DNS-1123 label", check: validation.IsDNS1123Label}
}

// ClusterName accepts what Cluster API accepts for a Cluster's name: a
// DNS-1123 subdomain that is also a valid label value (so at most 63
// characters), since the name is copied into labels on every child object.
func ClusterName() validator.String {
	return stringRule{
		description: "a DNS-1123 subdomain of at most 63 characters",
		check: func(s string) []string {
			problems := validation.IsDNS1123Subdomain(s)
			if len(s) > validation.LabelValueMaxLength {
				problems = append(problems, validation.MaxLenError(validation.LabelValueMaxLength))
			}
			return problems
		},
	}
}

// CIDR accepts an IPv4 or IPv6 network in CIDR notation as Kubernetes'
// strict CIDR validation does (IsValidCIDR, k8s.io/apimachinery
// pkg/util/validation/ip.go): no host bits set (192.168.1.1/16 is refused,
// its network being 192.168.0.0/16), no leading zeros, no IPv4-mapped IPv6,
// in canonical form. EC2 and kubeadm would quietly mask such a value, and
// it would then read back different from the configuration.
func CIDR() validator.String {
	return stringRule{
		description: "a network in CIDR notation (such as 10.0.0.0/16)",
		check: func(s string) []string {
			if _, err := parseNetwork(s); err != nil {
				return []string{err.Error()}
			}
			return nil
		},
	}
}

// LabelKey accepts a Kubernetes label or annotation key: an optional
// DNS-subdomain prefix and a name of at most 63 characters.
func LabelKey() validator.String {
	return stringRule{description: "a qualified name (such as example.com/my-key)", check: validation.IsQualifiedName}
}

// LabelValue accepts a Kubernetes label value.
func LabelValue() validator.String {
	return stringRule{description: "a valid label value", check: validation.IsValidLabelValue}
}

// Host accepts a DNS name or an IP address, without scheme or port.
func Host() validator.String {
	return stringRule{
		description: "a DNS name or IP address without scheme or port",
		check: func(s string) []string {
			if net.ParseIP(s) != nil {
				return nil
			}
			return validation.IsDNS1123Subdomain(s)
		},
	}
}

// NotEmptyObject rejects an object attribute that is set but has none of
// its attributes set: `{}` would apply nothing and then read back as null.
func NotEmptyObject() validator.Object { return notEmptyObject{} }

type notEmptyObject struct{}

func (notEmptyObject) Description(context.Context) string {
	return "at least one attribute must be set"
}
func (v notEmptyObject) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (notEmptyObject) ValidateObject(_ context.Context, req validator.ObjectRequest, resp *validator.ObjectResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	var names []string
	for name, v := range req.ConfigValue.Attributes() {
		if !v.IsNull() {
			return
		}
		names = append(names, name)
	}
	sort.Strings(names)
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid Attribute Value",
		fmt.Sprintf("Attribute %s must set at least one of: %s; or leave %s out.", req.Path, strings.Join(names, ", "), req.Path))
}

// Manifests accepts Kubernetes manifests as kubectl apply -f takes them:
// YAML documents (or JSON), each an object with apiVersion, kind and
// metadata.name. Cluster API's ClusterResourceSet reconciler reads them
// with the same parser.
func Manifests() validator.String {
	return stringRule{
		description: "Kubernetes manifests (YAML documents, each with apiVersion, kind and metadata.name)",
		check: func(s string) []string {
			objs, err := utilyaml.ToUnstructured([]byte(s))
			if err != nil {
				return []string{err.Error()}
			}
			if len(objs) == 0 {
				return []string{"no object found"}
			}
			var problems []string
			for i, o := range objs {
				if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
					problems = append(problems, fmt.Sprintf("document %d (%s %q) lacks apiVersion, kind or metadata.name", i+1, o.GetKind(), o.GetName()))
				}
			}
			return problems
		},
	}
}

// KubeletNodeLabel accepts the label keys kubelet may set on its own node
// (--node-labels): keys in the kubernetes.io and k8s.io namespaces are
// refused by the NodeRestriction admission plugin, except the kubelet's
// own and node.kubernetes.io/ ones.
func KubeletNodeLabel() validator.String {
	return stringRule{
		description: "a label key kubelet may set on its node",
		check: func(key string) []string {
			problems := validation.IsQualifiedName(key)
			prefix, _, found := strings.Cut(key, "/")
			if !found {
				return problems
			}
			restricted := prefix == "kubernetes.io" || prefix == "k8s.io" ||
				strings.HasSuffix(prefix, ".kubernetes.io") || strings.HasSuffix(prefix, ".k8s.io")
			allowed := prefix == "kubelet.kubernetes.io" || prefix == "node.kubernetes.io" ||
				strings.HasSuffix(prefix, ".kubelet.kubernetes.io") || strings.HasSuffix(prefix, ".node.kubernetes.io") ||
				kubeletOwnLabels[key]
			if restricted && !allowed {
				problems = append(problems, "kubelet may not set labels in the kubernetes.io or k8s.io namespaces "+
					"(set node-role.kubernetes.io/ labels with the machines' labels, which Cluster API copies to nodes)")
			}
			return problems
		},
	}
}

// kubeletOwnLabels are the restricted labels kubelet sets itself.
var kubeletOwnLabels = map[string]bool{
	"kubernetes.io/hostname": true, "kubernetes.io/arch": true, "kubernetes.io/os": true,
	"beta.kubernetes.io/arch": true, "beta.kubernetes.io/os": true, "beta.kubernetes.io/instance-type": true,
	"node.kubernetes.io/instance-type": true, "topology.kubernetes.io/region": true, "topology.kubernetes.io/zone": true,
	"failure-domain.beta.kubernetes.io/region": true, "failure-domain.beta.kubernetes.io/zone": true,
}
