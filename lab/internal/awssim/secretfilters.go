package awssim

import (
	"regexp"
	"strings"
	"unicode"
)

// ListSecrets' filters, as Secrets Manager applies them: every filter
// must match and any of a filter's values may, a value that starts with
// ! excludes what it would match. Keys match by prefix: name, tag-key,
// tag-value, primary-region and owning-service case-sensitively,
// description not; all breaks the value into words and matches them
// against the words of the name, description, tag keys and tag values,
// not case-sensitively.

type secretFilter struct {
	Key    string
	Values []string
}

const (
	secretFiltersMax    = 10
	filterValuesMax     = 10
	filterValueLengthMx = 512
)

var (
	secretFilterKeys   = []string{"description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"}
	filterValuePattern = regexp.MustCompile(`^!?[a-zA-Z0-9 :_@/+=.\-!]*$`)
)

func checkSecretFilters(filters []secretFilter) *apiError {
	if len(filters) > secretFiltersMax {
		return validationError("Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to %d", secretFiltersMax)
	}
	for i, f := range filters {
		if !contains(secretFilterKeys, f.Key) {
			return validationError("Value '%s' at 'filters.%d.member.key' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
				f.Key, i+1, strings.Join(secretFilterKeys, ", "))
		}
		if len(f.Values) == 0 {
			return invalidParameter("Invalid filter values for key %s: a filter needs at least one value.", f.Key)
		}
		if len(f.Values) > filterValuesMax {
			return validationError("Value at 'filters.%d.member.values' failed to satisfy constraint: Member must have length less than or equal to %d", i+1, filterValuesMax)
		}
		for _, v := range f.Values {
			if v == "" || len(v) > filterValueLengthMx || !filterValuePattern.MatchString(v) {
				return validationError("Value '%s' at 'filters.%d.member.values' failed to satisfy constraint: Member must have length between 1 and %d "+
					"and satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$", v, i+1, filterValueLengthMx)
			}
		}
	}
	return nil
}

func matchSecretFilters(filters []secretFilter, sec *secret) bool {
	for _, f := range filters {
		if !matchSecretFilter(f, sec) {
			return false
		}
	}
	return true
}

// matchSecretFilter: some positive value matches (if there is one) and
// no negated value does.
func matchSecretFilter(f secretFilter, sec *secret) bool {
	positive, matched := false, false
	for _, v := range f.Values {
		if neg, ok := strings.CutPrefix(v, "!"); ok {
			if secretMatches(f.Key, neg, sec) {
				return false
			}
			continue
		}
		positive = true
		matched = matched || secretMatches(f.Key, v, sec)
	}
	return !positive || matched
}

func secretMatches(key, value string, sec *secret) bool {
	switch key {
	case "name":
		return strings.HasPrefix(sec.name, value)
	case "description":
		return strings.HasPrefix(strings.ToLower(sec.description), strings.ToLower(value))
	case "tag-key":
		for _, t := range sec.tags {
			if strings.HasPrefix(t.Key, value) {
				return true
			}
		}
	case "tag-value":
		for _, t := range sec.tags {
			if strings.HasPrefix(t.Value, value) {
				return true
			}
		}
	case "all":
		have := words(sec.name + " " + sec.description)
		for _, t := range sec.tags {
			have = append(have, words(t.Key+" "+t.Value)...)
		}
		for _, w := range words(value) {
			for _, h := range have {
				if strings.HasPrefix(h, w) {
					return true
				}
			}
		}
	}
	// A secret of this account's own region has no primary region of
	// another and no owning service.
	return false
}

// words splits text as Secrets Manager's search does, lower-cased: at
// anything but letters and digits, between a lower-case letter and an
// upper-case one, and between letters and digits, so that
// credsDatabase#892 is creds, database and 892.
func words(text string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for _, r := range text {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if n := len(cur); n > 0 {
			prev := cur[n-1]
			if (unicode.IsLower(prev) && unicode.IsUpper(r)) || unicode.IsDigit(prev) != unicode.IsDigit(r) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return out
}
