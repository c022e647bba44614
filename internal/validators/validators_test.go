package validators

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func validate(v validator.String, value types.String) string {
	resp := &validator.StringResponse{}
	v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("attr"), ConfigValue: value}, resp)
	if !resp.Diagnostics.HasError() {
		return ""
	}
	return resp.Diagnostics.Errors()[0].Detail()
}

func TestStringValidators(t *testing.T) {
	long := strings.Repeat("a", 64)
	cases := []struct {
		name   string
		v      validator.String
		good   []string
		bad    []string
		reason string
	}{
		{"ClusterName", ClusterName(), []string{"demo", "a.b-c", strings.Repeat("a", 63)}, []string{"Demo", "a_b", "-a", long, ""}, "DNS-1123 subdomain of at most 63 characters"},
		{"DNS1123Label", DNS1123Label(), []string{"default", "team-a"}, []string{"a.b", "A", long}, "DNS-1123 label"},
		{"CIDR", CIDR(), []string{"10.0.0.0/8", "fd00::/64", "0.0.0.0/0", "::/0"}, []string{"10.0.0.0", "10.0.0.0/33", "x", "192.168.1.1/16", "FD00::/64"}, "CIDR notation"},
		{"ServiceNetwork", ServiceNetwork(), []string{"10.96.0.0/12", "10.96.0.0/28", "fd00::/108", "fd00::/124"}, []string{"10.0.0.0/8", "10.96.0.0/29", "fd00::/64", "10.96.0.1/12"}, "service network"},
		{"KubernetesVersion", KubernetesVersion(), []string{"v1.36.0", "v1.37.0-alpha.0", "v1.37.0-beta.2", "v1.37.0-rc.1", "v1.36.10"}, []string{"v1.36.0-garbage", "1.36.0", "v1.36", "v1.36.0+abc", "v1.036.0", "", "v1.36.0-rc1"}, "Kubernetes version"},
		{"AWSZone", AWSZone(), []string{"us-east-1a", "us-east-1-bos-1a", "us-east-1-wl1-bos-wlz-1", "us-gov-west-1b"}, []string{"use1-az1", "us-east-1", "US-EAST-1A"}, "AWS zone name"},
		{"LabelKey", LabelKey(), []string{"env", "example.com/env"}, []string{"bad key", "/x", "a/b/c"}, "qualified name"},
		{"LabelValue", LabelValue(), []string{"", "v1.2", "a_b"}, []string{"has space", long}, "valid label value"},
		{"Host", Host(), []string{"api.example.com", "10.0.0.1", "::1"}, []string{"https://x", "x:6443", "UPPER"}, "DNS name or IP address"},
	}
	for _, c := range cases {
		for _, good := range c.good {
			if msg := validate(c.v, types.StringValue(good)); msg != "" {
				t.Errorf("%s(%q) rejected: %s", c.name, good, msg)
			}
		}
		for _, bad := range c.bad {
			msg := validate(c.v, types.StringValue(bad))
			if !strings.Contains(msg, "Attribute attr must be") || !strings.Contains(msg, c.reason) {
				t.Errorf("%s(%q) = %q, want a message naming attr and %q", c.name, bad, msg, c.reason)
			}
		}
		if msg := validate(c.v, types.StringUnknown()); msg != "" {
			t.Errorf("%s rejected an unknown value", c.name)
		}
		if msg := validate(c.v, types.StringNull()); msg != "" {
			t.Errorf("%s rejected null", c.name)
		}
	}
}

func TestOverlaps(t *testing.T) {
	got := Overlaps([]NamedCIDR{
		{"pods[0]", "10.0.0.0/8"},
		{"pods[1]", "fd00::/48"},
		{"services[0]", "10.96.0.0/12"},
		{"services[1]", "fd01::/108"},
		{"services[2]", "not-a-cidr"},
	})
	if len(got) != 1 || got[0] != "pods[0] 10.0.0.0/8 overlaps services[0] 10.96.0.0/12" {
		t.Errorf("Overlaps = %q", got)
	}
	if got := Overlaps([]NamedCIDR{{"a", "192.168.0.0/16"}, {"b", "10.128.0.0/12"}}); len(got) != 0 {
		t.Errorf("disjoint networks reported: %q", got)
	}
}

func TestNotEmptyObject(t *testing.T) {
	attrTypes := map[string]attr.Type{"a": types.StringType, "b": types.Int32Type}
	run := func(v types.Object) string {
		resp := &validator.ObjectResponse{}
		NotEmptyObject().ValidateObject(context.Background(), validator.ObjectRequest{Path: path.Root("net"), ConfigValue: v}, resp)
		if resp.Diagnostics.HasError() {
			return resp.Diagnostics.Errors()[0].Detail()
		}
		return ""
	}
	empty := types.ObjectValueMust(attrTypes, map[string]attr.Value{"a": types.StringNull(), "b": types.Int32Null()})
	if msg := run(empty); msg != "Attribute net must set at least one of: a, b; or leave net out." {
		t.Errorf("empty object: %q", msg)
	}
	set := types.ObjectValueMust(attrTypes, map[string]attr.Value{"a": types.StringNull(), "b": types.Int32Value(1)})
	if msg := run(set); msg != "" {
		t.Errorf("object with b set: %q", msg)
	}
	if msg := run(types.ObjectNull(attrTypes)); msg != "" {
		t.Errorf("null object: %q", msg)
	}
}
