package cloud

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/digitalocean/godo"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/failure"
)

// PermanentError is a failure that retrying the same request cannot
// clear (see failure.PermanentError).
type PermanentError = failure.PermanentError

func permanent(reason, format string, args ...any) error {
	return failure.Permanent(reason, format, args...)
}

// statusOf returns the HTTP status of a DigitalOcean API error, or 0.
// godo has no helpers for its errors: the status is what tells them apart.
func statusOf(err error) int {
	var er *godo.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// IsNotFound reports DigitalOcean's "could not be found".
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// AsPermanent returns err's PermanentError, or one for a DigitalOcean
// answer that refuses the request as it is: 400 and 422 (invalid
// parameters, unknown sizes, images and keys, limits reached), 401 (the
// token) and 403 (its scopes). 404 is not among them: a resource made
// moments ago may not be known yet. 409, 429 and 5xx pass.
func AsPermanent(err error) *PermanentError {
	if p := failure.As(err); p != nil {
		return p
	}
	switch statusOf(err) {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusForbidden:
		return &PermanentError{Err: err}
	case http.StatusUnauthorized:
		return &PermanentError{Reason: infrav1.AuthenticationFailedReason, Err: err}
	}
	return nil
}

// Message is err's text for a condition or an event: what DigitalOcean
// said, without what changes from one call to the next. godo's "POST
// https://api.digitalocean.com/v2/droplets: 422 (request "...") size is
// not available; giving up after 1 attempt(s)" gives way to "422
// Unprocessable Entity: size is not available", so that a condition
// changes only when the error does.
func Message(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var er *godo.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		code := er.Response.StatusCode
		clean := fmt.Sprintf("%d %s", code, http.StatusText(code))
		if m := strings.TrimSpace(er.Message); m != "" {
			clean += ": " + m
		}
		msg = strings.Replace(msg, er.Error(), clean, 1)
	}
	return msg
}
