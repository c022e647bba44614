package provider

import "regexp"

// Patterns of AWS and Kubernetes identifiers, checked at plan time.
var (
	regionPattern       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	vpcIDPattern        = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	amiPattern          = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)
	awsAccountPattern   = regexp.MustCompile(`^(\d{12}|self|amazon|aws-marketplace)$`)
	instanceTypePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
)

var (
	// intOrPercentPattern is Cluster API's int-or-percent for surge and
	// unavailability: "1" or "25%".
	intOrPercentPattern = regexp.MustCompile(`^(\d+|\d{1,3}%)$`)
	// durationPattern is a Go duration of whole units, such as 5m or 1h30m.
	durationPattern = regexp.MustCompile(`^(\d+h)?(\d+m)?(\d+s)?$`)
)
