// Package cloud makes the DigitalOcean API calls of the DigitalOcean
// infrastructure provider, through godo: a cluster's VPC, its cloud
// firewall and API server load balancer, and droplets.
//
// Every create is idempotent, which DigitalOcean's API is not: droplet
// names are not unique, and a create answered with a 5xx or lost to a
// timeout may have made its resource all the same. So each resource is
// first looked for by what identifies it (a droplet by the tag of its
// DOMachine's UID, a VPC by its name, a firewall and a load balancer by
// name and the cluster's tag), and creates are never re-sent by the HTTP
// client: a later pass looks again and finds what an answered-with-error
// create made.
package cloud

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/digitalocean/godo"
	"golang.org/x/oauth2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
)

// Settings say how to reach DigitalOcean; empty fields fall back to the
// environment.
type Settings struct {
	// Token is an API token; default $DIGITALOCEAN_TOKEN, then
	// $DIGITALOCEAN_ACCESS_TOKEN.
	Token string
	// APIURL is the API's base URL; default $DIGITALOCEAN_API_URL, then
	// https://api.digitalocean.com/. godo sends some paths (/v2/vpcs,
	// /v2/firewalls, /v2/load_balancers) from the root, so the API must be
	// served at the URL's root.
	APIURL string
	// SpacesAccessKeyID and SpacesSecretAccessKey are a Spaces access key,
	// for the machines' bootstrap data; default $SPACES_ACCESS_KEY_ID and
	// $SPACES_SECRET_ACCESS_KEY.
	SpacesAccessKeyID     string
	SpacesSecretAccessKey string
	// SpacesEndpoint is Spaces' URL, {region} standing for the bucket's
	// region; default $SPACES_ENDPOINT_URL, then
	// https://{region}.digitaloceanspaces.com.
	SpacesEndpoint string
}

// userAgent names the provider to DigitalOcean, before godo's own.
const userAgent = "terraform-provider-capi"

// requestTimeout bounds one HTTP request; the retries come on top.
const requestTimeout = time.Minute

// Client is a DigitalOcean API client. The API is global: one client
// serves every region.
type Client struct {
	godo   *godo.Client
	spaces *spacesClients
}

// errNoToken is the error of a client without a token.
var errNoToken = &PermanentError{Reason: infrav1.AuthenticationFailedReason,
	Err: errors.New("no DigitalOcean API token: set the provider's token or DIGITALOCEAN_TOKEN")}

// NewClient builds a client from settings, retrying throttled and failed
// requests (see retryPolicy) with backoff.
func NewClient(s Settings) (*Client, error) {
	token := firstNonEmpty(s.Token, os.Getenv("DIGITALOCEAN_TOKEN"), os.Getenv("DIGITALOCEAN_ACCESS_TOKEN"))
	if token == "" {
		return nil, errNoToken
	}
	httpClient := oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}))
	httpClient.Timeout = requestTimeout
	opts := []godo.ClientOpt{
		godo.SetUserAgent(userAgent),
		godo.WithRetryAndBackoffs(godo.RetryConfig{RetryMax: retryMax, RetryWaitMin: godo.PtrTo(retryWaitMin.Seconds()), RetryWaitMax: godo.PtrTo(retryWaitMax.Seconds())}),
	}
	if u := firstNonEmpty(s.APIURL, os.Getenv("DIGITALOCEAN_API_URL")); u != "" {
		opts = append(opts, godo.SetBaseURL(u))
	}
	c, err := godo.New(httpClient, opts...)
	if err != nil {
		return nil, err
	}
	if err := tuneRetries(c.HTTPClient); err != nil {
		return nil, err
	}
	return &Client{godo: c, spaces: newSpacesClients(s)}, nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
