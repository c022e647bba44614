package awssim

import (
	"regexp"
	"strings"
)

// AWS's limits on tags, the same for EC2 and ELBv2.
const (
	maxTagKeyLength   = 128
	maxTagValueLength = 256
	maxTagsPerObject  = 50
)

// checkRequestTags applies the tag limits to every tag set a request
// writes: EC2's TagSpecification.N.Tag.M and CreateTags' Tag.N, ELBv2's
// Tags.member.N.
func checkRequestTags(service string, p params) *apiError {
	if service == "ec2" {
		for _, spec := range p.indexed("TagSpecification") {
			if err := checkTags(service, spec.indexed("Tag")); err != nil {
				return err
			}
		}
		return checkTags(service, p.indexed("Tag"))
	}
	return checkTags(service, p.indexed("Tags.member"))
}

func checkTags(service string, tags []params) *apiError {
	if len(tags) > maxTagsPerObject {
		return tooManyTags(service)
	}
	for i, t := range tags {
		key, value := t.get("Key"), t.get("Value")
		switch {
		case key == "":
			return tagError(service, i, "key", "The tag key must not be empty", key)
		case len(key) > maxTagKeyLength:
			return tagError(service, i, "key", "Tag key exceeds the maximum length of 128 characters", key)
		case len(value) > maxTagValueLength:
			return tagError(service, i, "value", "Tag value exceeds the maximum length of 256 characters", value)
		case strings.HasPrefix(strings.ToLower(key), "aws:"):
			return tagError(service, i, "key", "Tag keys starting with 'aws:' are reserved for internal use", key)
		}
	}
	return nil
}

func tagError(service string, i int, field, message, value string) *apiError {
	if service == "ec2" {
		return badRequest("InvalidParameterValue", "%s: %s", message, value)
	}
	return badRequest("ValidationError", "1 validation error detected: Value '%s' at 'tags.%d.member.%s' failed to satisfy constraint: %s", value, i+1, field, message)
}

func tooManyTags(service string) *apiError {
	if service == "ec2" {
		return badRequest("TagLimitExceeded", "The maximum number of tags per resource (%d) has been exceeded", maxTagsPerObject)
	}
	return badRequest("TooManyTags", "The quota for the number of tags that can be assigned to a load balancer has been reached")
}

// checkTagCount refuses tags that would take a resource past the limit.
func checkTagCount(service string, existing []Tag, add map[string]string) *apiError {
	merged := tagMap(existing)
	if merged == nil {
		merged = map[string]string{}
	}
	for k, v := range add {
		merged[k] = v
	}
	if len(merged) > maxTagsPerObject {
		return tooManyTags(service)
	}
	return nil
}

var elbNamePattern = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// checkELBName applies ELBv2's rules for load balancer and target group
// names: 1 to 32 alphanumerics and hyphens, no hyphen at either end, and
// for a load balancer no internal- prefix.
func checkELBName(kind, name string) *apiError {
	switch {
	case name == "":
		return badRequest("ValidationError", "%s name cannot be empty", kind)
	case len(name) > 32:
		return badRequest("ValidationError", "%s name '%s' cannot be longer than '32' characters", kind, name)
	case !elbNamePattern.MatchString(name):
		return badRequest("ValidationError", "%s name '%s' can only contain characters that are alphanumeric characters or hyphens(-)", kind, name)
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return badRequest("ValidationError", "%s name '%s' cannot begin or end with '-' character", kind, name)
	case kind == "Load balancer" && strings.HasPrefix(name, "internal-"):
		return badRequest("ValidationError", "Load balancer name '%s' cannot begin with 'internal-'", name)
	}
	return nil
}
