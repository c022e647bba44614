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
			fmt.Sprintf("Attribute %s must be %s, got %q: %s.", req.Path, r.description, value, strings.Join(problems, "; ")))
	}
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

// CIDR accepts an IPv4 or IPv6 network in CIDR notation.
func CIDR() validator.String {
	return stringRule{
		description: "a network in CIDR notation (such as 10.0.0.0/16)",
		check: func(s string) []string {
			if _, _, err := net.ParseCIDR(s); err != nil {
				return []string{"not a valid CIDR"}
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
