package cloud

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/digitalocean/godo"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
)

// apiError is what godo returns for an answer with status and message.
func apiError(status int, message string) error {
	u, _ := url.Parse("https://api.digitalocean.com/v2/droplets")
	resp := &http.Response{StatusCode: status, Request: &http.Request{Method: http.MethodPost, URL: u}}
	return &godo.ErrorResponse{Response: resp, Message: message, RequestID: "4d9d8375-3c56-4925-a3e7-eb137fed17e9", Attempts: 5}
}

func TestAsPermanent(t *testing.T) {
	for _, c := range []struct {
		err       error
		permanent bool
		reason    string
	}{
		{apiError(422, "creating this/these droplet(s) will exceed your droplet limit"), true, ""},
		{apiError(400, "malformed"), true, ""},
		{apiError(403, "You do not have access for the attempted action."), true, ""},
		{apiError(401, "Unable to authenticate you"), true, infrav1.AuthenticationFailedReason},
		{fmt.Errorf("creating droplet m: %w", apiError(422, "size is not available")), true, ""},
		{permanent(infrav1.UserDataTooLargeReason, "too large"), true, infrav1.UserDataTooLargeReason},
		// A resource made moments ago, a conflict, throttling and outages pass.
		{apiError(404, "The resource you requested could not be found."), false, ""},
		{apiError(409, "conflict"), false, ""},
		{apiError(429, "API rate limit exceeded."), false, ""},
		{apiError(500, "Server Error"), false, ""},
		{errors.New("dial tcp: connection refused"), false, ""},
	} {
		p := AsPermanent(c.err)
		if (p != nil) != c.permanent || p != nil && p.Reason != c.reason {
			t.Errorf("AsPermanent(%v) = %+v, want permanent %v reason %q", c.err, p, c.permanent, c.reason)
		}
	}
}

func TestMessageDropsWhatChangesFromCallToCall(t *testing.T) {
	err := fmt.Errorf("creating droplet m-1: %w", apiError(422, "creating this/these droplet(s) will exceed your droplet limit"))
	want := "creating droplet m-1: 422 Unprocessable Entity: creating this/these droplet(s) will exceed your droplet limit"
	if got := Message(err); got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if got := Message(apiError(500, "")); got != "500 Internal Server Error" {
		t.Errorf("Message of an empty 500 = %q", got)
	}
	if got := Message(errors.New("plain")); got != "plain" {
		t.Errorf("Message of a plain error = %q", got)
	}
	if !IsNotFound(fmt.Errorf("reading: %w", apiError(404, "not found"))) || IsNotFound(apiError(403, "")) {
		t.Error("IsNotFound does not go by the status")
	}
}
