package spacessim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	sim   *Simulator
	url   string
	clock *clock
}

func newEnv(t *testing.T) env {
	sim := New()
	c := &clock{t: time.Now()}
	sim.Now = c.now
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return env{sim: sim, url: srv.URL, clock: c}
}

// client is configured as the provider configures its Spaces client.
func (e env) client(region, keyID, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region: region, BaseEndpoint: aws.String(e.url), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           1,
	})
}

func code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func TestBucketsAndObjects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client("nyc3", AccessKeyID, SecretAccessKey)
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b-1")}); code(err) != "NotFound" {
		t.Fatalf("HeadBucket of none: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-1"), ACL: "private"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-1")}); code(err) != "BucketAlreadyOwnedByYou" {
		t.Errorf("second CreateBucket: %v", err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b-1")}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}
	for i := range 5 {
		body := []byte(strings.Repeat("x", i+1))
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-1"), Key: aws.String("m/" + string(rune('a'+i)) + ".gz"),
			Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String("application/gzip"), ACL: "private"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-1"), Key: aws.String("m/c.gz")})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got.Body)
	if string(data) != "xxx" || aws.ToString(got.ContentType) != "application/gzip" {
		t.Errorf("GetObject = %q, %s", data, aws.ToString(got.ContentType))
	}
	var keys []string
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("b-1"), Prefix: aws.String("m/"), MaxKeys: aws.Int32(2)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Contents) > 2 {
			t.Errorf("page of %d", len(page.Contents))
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	if strings.Join(keys, ",") != "m/a.gz,m/b.gz,m/c.gz,m/d.gz,m/e.gz" {
		t.Errorf("listed %v", keys)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("b-1")}); code(err) != "BucketNotEmpty" {
		t.Errorf("DeleteBucket of a full bucket: %v", err)
	}
	for _, k := range append(keys, "never-there") {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("b-1"), Key: aws.String(k)}); err != nil {
			t.Errorf("DeleteObject %s: %v", k, err)
		}
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-1"), Key: aws.String("m/a.gz")}); code(err) != "NoSuchKey" {
		t.Errorf("GetObject of a deleted key: %v", err)
	}
	if n := len(e.sim.Resources()); n != 1 {
		t.Errorf("%d resources, want the bucket", n)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("b-1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("b-1")}); code(err) != "NoSuchBucket" {
		t.Errorf("DeleteBucket of none: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client("nyc3", AccessKeyID, SecretAccessKey)
	for _, name := range []string{"ab", "Upper", "-dash", "under_score", strings.Repeat("a", 64)} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); code(err) != "InvalidBucketName" {
			t.Errorf("CreateBucket %q: %v", name, err)
		}
	}
	if _, err := e.client("nyc1", AccessKeyID, SecretAccessKey).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("in-nyc1")}); code(err) != "AuthorizationHeaderMalformed" {
		t.Errorf("bucket in a region without Spaces: %v", err)
	}
	if _, err := e.client("nyc3", "someone", SecretAccessKey).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-2")}); code(err) != "InvalidAccessKeyId" {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := e.client("nyc3", AccessKeyID, "wrong").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-2")}); code(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client("ams3", AccessKeyID, SecretAccessKey).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b-2")}); err == nil {
		t.Error("a bucket of nyc3 answered a request signed for ams3")
	}
	resp, err := http.Get(e.url + "/b-2/anything")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous GET: %s", resp.Status)
	}
	e.clock.add(20 * time.Minute)
	// The client signs with the real time, now 20 minutes off.
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b-2")}); err == nil {
		t.Error("a request 20 minutes off the clock was accepted")
	}
}

// Presigned URLs work with plain HTTP, no key, until they expire; a
// tampered one does not.
func TestPresignedURLs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client("nyc3", AccessKeyID, SecretAccessKey)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("capi-bootstrap-u")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("capi-bootstrap-u"), Key: aws.String("m/a.gz"), Body: strings.NewReader("data")}); err != nil {
		t.Fatal(err)
	}
	p := s3.NewPresignClient(c)
	lifetime := func(o *s3.PresignOptions) { o.Expires = 15 * time.Minute }
	get, err := p.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("capi-bootstrap-u"), Key: aws.String("m/a.gz")}, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	del, err := p.PresignDeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("capi-bootstrap-u"), Key: aws.String("m/a.gz")}, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, u string) (int, string) {
		req, _ := http.NewRequest(method, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := do(http.MethodGet, strings.Replace(get.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1)); status != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Errorf("tampered URL: %d %s", status, body)
	}
	if status, body := do(http.MethodGet, get.URL); status != 200 || body != "data" {
		t.Errorf("presigned GET: %d %s", status, body)
	}
	if status, body := do(http.MethodDelete, get.URL); status != 403 {
		t.Errorf("a GET URL deleted: %d %s", status, body)
	}
	if status, body := do(http.MethodDelete, del.URL); status != 204 {
		t.Errorf("presigned DELETE: %d %s", status, body)
	}
	if status, body := do(http.MethodGet, get.URL); status != 404 || !strings.Contains(body, "NoSuchKey") {
		t.Errorf("GET after the DELETE: %d %s", status, body)
	}
	e.clock.add(16 * time.Minute)
	if status, body := do(http.MethodGet, get.URL); status != 403 || !strings.Contains(body, "Request has expired") {
		t.Errorf("expired URL: %d %s", status, body)
	}
	week := func(o *s3.PresignOptions) { o.Expires = 8 * 24 * time.Hour }
	long, err := p.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("capi-bootstrap-u"), Key: aws.String("m/a.gz")}, week)
	if err == nil {
		if status, body := do(http.MethodGet, long.URL); status != 400 || !strings.Contains(body, "AuthorizationQueryParametersError") {
			t.Errorf("URL for 8 days: %d %s", status, body)
		}
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t)
	var calls []string
	e.sim.Fault = func(action string) string {
		calls = append(calls, action)
		if action == "spaces:CreateBucket" {
			return "throttling"
		}
		return ""
	}
	_, err := e.client("nyc3", AccessKeyID, SecretAccessKey).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("b-3")})
	if code(err) != "SlowDown" || strings.Join(calls, ",") != "spaces:CreateBucket" {
		t.Errorf("throttled CreateBucket: %v, calls %v", err, calls)
	}
}
