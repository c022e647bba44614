package awssim

// The instance metadata service's options, RunInstances'
// MetadataOptions. They matter beyond what DescribeInstances shows: with
// the endpoint disabled an instance reads neither its user data nor its
// instance profile's credentials.

// MetadataOptions are an instance's instance metadata service options.
type MetadataOptions struct {
	// HTTPTokens is "optional" (IMDSv1 and v2) or "required" (IMDSv2 only).
	HTTPTokens string `xml:"httpTokens" json:"httpTokens"`
	// HTTPPutResponseHopLimit is how many network hops a token travels,
	// 1 to 64: 1 reaches the host but not a container behind a bridge.
	HTTPPutResponseHopLimit int `xml:"httpPutResponseHopLimit" json:"httpPutResponseHopLimit"`
	// HTTPEndpoint is "enabled" or "disabled".
	HTTPEndpoint string `xml:"httpEndpoint" json:"httpEndpoint"`
	// HTTPProtocolIPv6 is "enabled" or "disabled".
	HTTPProtocolIPv6 string `xml:"httpProtocolIpv6" json:"httpProtocolIpv6"`
	// InstanceMetadataTags is "enabled" or "disabled": whether the
	// instance's tags show in its metadata.
	InstanceMetadataTags string `xml:"instanceMetadataTags" json:"instanceMetadataTags"`
}

// metadataOptionsView is MetadataOptions as DescribeInstances shows them,
// with the state of their application.
type metadataOptionsView struct {
	State string `xml:"state"`
	MetadataOptions
}

// defaultMetadataOptions are EC2's for an instance launched without
// MetadataOptions in an account without defaults of its own: IMDSv1
// allowed and one hop, unless the image's ImdsSupport is v2.0 (none of
// the built-in images' is), which makes it IMDSv2 only and two hops.
func defaultMetadataOptions(img *image) MetadataOptions {
	o := MetadataOptions{HTTPTokens: "optional", HTTPPutResponseHopLimit: 1, HTTPEndpoint: "enabled",
		HTTPProtocolIPv6: "disabled", InstanceMetadataTags: "disabled"}
	if img.ImdsSupport == "v2.0" {
		o.HTTPTokens, o.HTTPPutResponseHopLimit = "required", 2
	}
	return o
}

// metadataOptions reads RunInstances' MetadataOptions.*, refusing values
// outside EC2's sets as EC2 does. Fields left out take the image's
// defaults.
func metadataOptions(p params, img *image) (MetadataOptions, *apiError) {
	o := defaultMetadataOptions(img)
	for _, f := range []struct {
		param string
		out   *string
		valid []string
	}{
		{"MetadataOptions.HttpTokens", &o.HTTPTokens, []string{"optional", "required"}},
		{"MetadataOptions.HttpEndpoint", &o.HTTPEndpoint, []string{"enabled", "disabled"}},
		{"MetadataOptions.HttpProtocolIpv6", &o.HTTPProtocolIPv6, []string{"enabled", "disabled"}},
		{"MetadataOptions.InstanceMetadataTags", &o.InstanceMetadataTags, []string{"enabled", "disabled"}},
	} {
		if !p.has(f.param) {
			continue
		}
		v := p.get(f.param)
		if !contains(f.valid, v) {
			return o, badRequest("InvalidParameterValue", "The value '%s' is not valid for the parameter '%s'. Valid values: %s.",
				v, f.param[len("MetadataOptions."):], joinOr(f.valid))
		}
		*f.out = v
	}
	if p.has("MetadataOptions.HttpPutResponseHopLimit") {
		v := p.get("MetadataOptions.HttpPutResponseHopLimit")
		n := p.int("MetadataOptions.HttpPutResponseHopLimit", 0)
		if n < 1 || n > 64 {
			return o, badRequest("InvalidParameterValue", "The value '%s' is not valid for the parameter 'HttpPutResponseHopLimit'. "+
				"The value must be an integer between 1 and 64.", v)
		}
		o.HTTPPutResponseHopLimit = n
	}
	return o, nil
}

func joinOr(values []string) string {
	out := ""
	for i, v := range values {
		switch {
		case i == 0:
		case i == len(values)-1:
			out += " or "
		default:
			out += ", "
		}
		out += v
	}
	return out
}
