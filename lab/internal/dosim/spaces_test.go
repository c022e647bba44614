package dosim

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/digitalocean/godo"

	"github.com/terraform-capi/terraform-provider-capi/lab/internal/spacessim"
)

// spacesClient is the S3 client as the provider builds it for Spaces at
// the simulator's address.
func (l *lab) spacesClient() *s3.Client {
	return s3.New(s3.Options{
		Region: "nyc3", BaseEndpoint: aws.String(l.srv.URL), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(spacessim.AccessKeyID, spacessim.SecretAccessKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           1,
	})
}

// Spaces answers on the API's address off /v2/: counted and faulted as
// spaces:<Action>, in the leak check, and not against the API token's
// rate limit.
func TestSpacesOnTheAPIAddress(t *testing.T) {
	l := newLab(t, Config{})
	// Signatures are checked against the simulator's clock: bring it to
	// the time the SDK signs with.
	l.clock.Add(time.Since(l.clock.Now()))
	l.sim.SetConfig(Config{RateLimitPerMinute: 2})
	sp := l.spacesClient()
	if _, err := sp.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("capi-bootstrap-u")}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := sp.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("capi-bootstrap-u"), Key: aws.String("m/a.gz"),
			Body: strings.NewReader("data")}); err != nil {
			t.Fatalf("Spaces calls past the API's rate limit: %v", err)
		}
	}
	_, resp, err := l.client.Account.Get(ctx)
	must(t, err)
	if resp.Rate.Remaining != 4999 {
		t.Errorf("Spaces calls counted against the API token: %+v", resp.Rate)
	}

	var calls map[string]int
	l.controlOK(t, http.MethodGet, "/_lab/calls", "", &calls)
	if calls["spaces:CreateBucket"] != 1 || calls["spaces:PutObject"] != 3 {
		t.Errorf("calls %v", calls)
	}
	var resources []LiveResource
	l.controlOK(t, http.MethodGet, "/_lab/resources", "", &resources)
	var spaces []LiveResource
	for _, r := range resources {
		if strings.HasPrefix(r.Kind, "spaces_") {
			spaces = append(spaces, r)
		}
	}
	if len(spaces) != 2 || spaces[0].Kind != "spaces_bucket" || spaces[0].ID != "capi-bootstrap-u" || spaces[0].State != "active" ||
		spaces[0].Region != "nyc3" || spaces[1].Kind != "spaces_object" || spaces[1].ID != "capi-bootstrap-u/m/a.gz" || spaces[1].Region != "nyc3" {
		t.Errorf("Spaces resources %+v", spaces)
	}

	l.controlOK(t, http.MethodPut, "/_lab/faults", `[{"action":"spaces:GetObject","rate":1,"error":"server"},{"action":"spaces:HeadBucket","rate":1}]`, nil)
	_, err = sp.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("capi-bootstrap-u"), Key: aws.String("m/a.gz")})
	if code := s3Code(err); code != "InternalError" {
		t.Errorf("GetObject with a server fault: %v", err)
	}
	_, err = sp.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("capi-bootstrap-u")})
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Errorf("HeadBucket throttled: %v", err)
	}
	l.controlOK(t, http.MethodDelete, "/_lab/faults", "", nil)

	// The API keeps its own paths and errors.
	req, _ := l.client.NewRequest(ctx, http.MethodGet, "v2/nothing-here", nil)
	_, err = l.client.Do(ctx, req, nil)
	mustStatus(t, err, http.StatusNotFound)
}

func s3Code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// The user data of a droplet is there for its whole life, to anyone on
// it, as DigitalOcean's metadata service serves it.
func TestDropletUserData(t *testing.T) {
	l := newLab(t, Config{})
	d := l.createDroplet(t, godo.DropletCreateRequest{Name: "d-1", UserData: "#cloud-config\n{}\n"})
	get := func(path string) (int, string) {
		resp := l.control(t, http.MethodGet, path, "")
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("/_lab/droplets/" + itoa(d.ID) + "/user_data"); status != http.StatusOK || body != "#cloud-config\n{}\n" {
		t.Errorf("user data: %d %q", status, body)
	}
	if status, _ := get("/_lab/droplets/1/user_data"); status != http.StatusNotFound {
		t.Errorf("user data of no droplet: %d", status)
	}
	_, err := l.client.Droplets.Delete(ctx, d.ID)
	must(t, err)
	if status, _ := get("/_lab/droplets/" + itoa(d.ID) + "/user_data"); status != http.StatusNotFound {
		t.Errorf("user data of a deleted droplet: %d", status)
	}
}
