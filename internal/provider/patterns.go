package provider

import "regexp"

var (
	// intOrPercentPattern is Cluster API's int-or-percent for surge and
	// unavailability: "1" or "25%".
	intOrPercentPattern = regexp.MustCompile(`^(\d+|\d{1,3}%)$`)
	// durationPattern is a Go duration of whole units, such as 5m or 1h30m.
	durationPattern = regexp.MustCompile(`^(\d+h)?(\d+m)?(\d+s)?$`)
)
