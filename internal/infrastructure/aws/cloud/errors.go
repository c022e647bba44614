package cloud

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/failure"
)

// PermanentError is a failure that retrying the same request cannot
// clear (see failure.PermanentError).
type PermanentError = failure.PermanentError

func permanent(reason, format string, args ...any) error {
	return failure.Permanent(reason, format, args...)
}

// permanentCodes are the EC2 and ELBv2 error codes of requests that AWS
// refuses as they are, and will refuse again until the spec or the
// account changes. Codes that eventual consistency can cause (a resource
// made moments ago and not known yet, such as the NotFound codes or
// ELBv2's InvalidSubnet and InvalidSecurityGroup) are not among them.
var permanentCodes = map[string]bool{
	// The request itself.
	"InvalidParameter":            true,
	"InvalidParameterValue":       true,
	"InvalidParameterCombination": true,
	"InvalidParameterDependency":  true,
	"MissingParameter":            true,
	"Unsupported":                 true,
	"UnsupportedOperation":        true,
	"IdempotentParameterMismatch": true,
	"InvalidVpc.Range":            true,
	"InvalidSubnet.Range":         true,
	"InvalidSubnet.Conflict":      true,
	"InvalidVpcID.Malformed":      true,
	"InvalidSubnetID.Malformed":   true,
	"InvalidGroupId.Malformed":    true,
	"InvalidInstanceID.Malformed": true,
	"InvalidAMIID.NotFound":       true,
	"InvalidAMIID.Malformed":      true,
	"InvalidAMIID.Unavailable":    true,
	"InvalidBlockDeviceMapping":   true,
	"InvalidKeyPair.NotFound":     true,
	"InvalidUserData.Malformed":   true,
	"ValidationError":             true,
	"InvalidConfigurationRequest": true,
	"InvalidScheme":               true,
	"UnsupportedProtocol":         true,
	// The account: credentials, permissions, opt-ins.
	"AuthFailure":           true,
	"UnauthorizedOperation": true,
	"AccessDenied":          true,
	"Blocked":               true,
	"OptInRequired":         true,
	"PendingVerification":   true,
	// Quotas, until the account's limit is raised or resources go.
	"VpcLimitExceeded":                   true,
	"SubnetLimitExceeded":                true,
	"InternetGatewayLimitExceeded":       true,
	"AddressLimitExceeded":               true,
	"NatGatewayLimitExceeded":            true,
	"RouteTableLimitExceeded":            true,
	"RouteLimitExceeded":                 true,
	"SecurityGroupLimitExceeded":         true,
	"RulesPerSecurityGroupLimitExceeded": true,
	"InstanceLimitExceeded":              true,
	"VcpuLimitExceeded":                  true,
	"VolumeLimitExceeded":                true,
	"ResourceLimitExceeded":              true,
	"TagLimitExceeded":                   true,
	"TooManyLoadBalancers":               true,
	"TooManyTargetGroups":                true,
	"TooManyListeners":                   true,
	"TooManyTargets":                     true,
	"TooManyTags":                        true,
}

// AsPermanent returns err's PermanentError, or one for an AWS error that
// says the request is wrong as it is (see permanentCodes) or that the SDK
// refused to send, or nil. An unknown instance profile is not permanent:
// IAM is eventually consistent, and EC2 refuses a profile made moments
// ago as one that does not exist.
func AsPermanent(err error) *PermanentError {
	if p := failure.As(err); p != nil {
		return p
	}
	var invalid smithy.InvalidParamsError
	if errors.As(err, &invalid) {
		return &PermanentError{Err: err}
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || !permanentCodes[apiErr.ErrorCode()] {
		return nil
	}
	if apiErr.ErrorCode() == "InvalidParameterValue" && strings.Contains(apiErr.ErrorMessage(), "iamInstanceProfile") {
		return nil
	}
	return &PermanentError{Err: err}
}

// requestNoise is what the SDK's error text carries besides the error:
// the HTTP status and request ID, which change from call to call.
var requestNoise = regexp.MustCompile(`https? response error StatusCode: \d+, (RequestID: [^,]*, )?(HostID: [^,]*, )?(api error )?`)

// Message is err's text for a condition or an event: what the cloud said,
// without what changes from one call to the next. The SDK's "operation
// error EC2: CreateSubnet, https response error StatusCode: 400,
// RequestID: ..., api error InvalidParameterValue: Value (...) ..." gives
// way to "InvalidParameterValue: Value (...) ...", so that a condition
// changes only when the error does; an error that is not AWS's keeps the
// call it came from.
func Message(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var op *smithy.OperationError
	if errors.As(err, &op) {
		var apiErr smithy.APIError
		inner := op.Service() + " " + op.Operation() + ": " + requestNoise.ReplaceAllString(fmt.Sprint(op.Err), "")
		if errors.As(op.Err, &apiErr) {
			inner = apiErr.ErrorCode()
			if m := apiErr.ErrorMessage(); m != "" {
				inner += ": " + m
			}
		}
		msg = strings.Replace(msg, op.Error(), inner, 1)
	}
	return requestNoise.ReplaceAllString(msg, "")
}
