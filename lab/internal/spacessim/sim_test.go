package spacessim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
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

// lab is the client of the lab's key in nyc3.
func (e env) lab() *s3.Client { return e.client("nyc3", AccessKeyID, SecretAccessKey) }

// signed is a request signed in the header with the lab's key at when,
// as the SDK signs: the body's hash in x-amz-content-sha256.
func (e env) signed(t *testing.T, method, path, region string, body []byte, when time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner(s3Signing).SignHTTP(context.Background(), lab(), req, hash, "s3", region, when); err != nil {
		t.Fatal(err)
	}
	return req
}

// do sends a request and returns its status and body.
func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func send(t *testing.T, method, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func mustCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Errorf("%s: want %s, got %v", what, want, err)
	}
}

func put(t *testing.T, c *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(body), ContentLength: aws.Int64(int64(len(body)))}); err != nil {
		t.Fatal(err)
	}
}

func createBucket(t *testing.T, c *s3.Client, name string) {
	t.Helper()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
}

func TestBucketsAndObjects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.lab()
	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b-1")})
	mustCode(t, "HeadBucket of none", err, "NotFound")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-1"), ACL: s3types.BucketCannedACLPrivate,
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "nyc3"}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-1")})
	mustCode(t, "second CreateBucket", err, "BucketAlreadyOwnedByYou")
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b-1")}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}
	for i := range 5 {
		body := []byte(strings.Repeat("x", i+1))
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-1"), Key: aws.String("m/" + string(rune('a'+i)) + ".gz"),
			Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String("application/gzip"),
			ACL: s3types.ObjectCannedACLPrivate}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-1"), Key: aws.String("m/c.gz")})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got.Body)
	if string(data) != "xxx" || aws.ToString(got.ContentType) != "application/gzip" || aws.ToString(got.ETag) == "" {
		t.Errorf("GetObject = %q, %s, ETag %s", data, aws.ToString(got.ContentType), aws.ToString(got.ETag))
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("b-1"), Key: aws.String("m/c.gz")})
	if err != nil || aws.ToInt64(head.ContentLength) != 3 {
		t.Errorf("HeadObject: %v, %+v", err, head)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("b-1"), Key: aws.String("m/none")})
	mustCode(t, "HeadObject of none", err, "NotFound")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-none"), Key: aws.String("m/c.gz")})
	mustCode(t, "GetObject in no bucket", err, "NoSuchBucket")

	// Strong consistency: an overwrite reads back at once.
	put(t, c, "b-1", "m/c.gz", "yyyy")
	got, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-1"), Key: aws.String("m/c.gz")})
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := io.ReadAll(got.Body); string(data) != "yyyy" {
		t.Errorf("read after overwrite: %q", data)
	}

	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("b-1")})
	mustCode(t, "DeleteBucket of a full bucket", err, "BucketNotEmpty")
	for _, k := range []string{"m/a.gz", "m/b.gz", "m/c.gz", "m/d.gz", "m/e.gz", "never-there"} {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("b-1"), Key: aws.String(k)}); err != nil {
			t.Errorf("DeleteObject %s: %v", k, err)
		}
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-1"), Key: aws.String("m/a.gz")})
	mustCode(t, "GetObject of a deleted key", err, "NoSuchKey")
	if r := e.sim.Resources(); len(r) != 1 || r[0] != (Resource{Kind: "spaces_bucket", ID: "b-1", Region: "nyc3"}) {
		t.Errorf("resources %v, want the bucket alone", r)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("b-1")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("b-1")})
	mustCode(t, "DeleteBucket of none", err, "NoSuchBucket")
}

func TestListObjectsV2Paginates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.lab()
	createBucket(t, c, "b-list")
	for i := range 1005 {
		put(t, c, "b-list", fmt.Sprintf("m/%04d", i), "x")
	}
	put(t, c, "b-list", "other", "x")
	put(t, c, "b-list", "dir/a/1", "x")
	put(t, c, "b-list", "dir/a/2", "x")
	put(t, c, "b-list", "dir/b", "x")

	list := func(in *s3.ListObjectsV2Input) (keys []string, pages int) {
		t.Helper()
		in.Bucket = aws.String("b-list")
		p := s3.NewListObjectsV2Paginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, o := range page.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			for _, cp := range page.CommonPrefixes {
				keys = append(keys, aws.ToString(cp.Prefix))
			}
		}
		return keys, pages
	}
	// 1,000 a page by default.
	if keys, pages := list(&s3.ListObjectsV2Input{Prefix: aws.String("m/")}); len(keys) != 1005 || pages != 2 || keys[1004] != "m/1004" {
		t.Errorf("listed %d keys in %d pages", len(keys), pages)
	}
	if keys, pages := list(&s3.ListObjectsV2Input{Prefix: aws.String("m/000"), MaxKeys: aws.Int32(3)}); strings.Join(keys, ",") !=
		"m/0000,m/0001,m/0002,m/0003,m/0004,m/0005,m/0006,m/0007,m/0008,m/0009" || pages != 4 {
		t.Errorf("listed %v in %d pages", keys, pages)
	}
	if keys, _ := list(&s3.ListObjectsV2Input{Prefix: aws.String("dir/"), Delimiter: aws.String("/")}); strings.Join(keys, ",") != "dir/b,dir/a/" {
		t.Errorf("listed %v with a delimiter", keys)
	}
	if keys, _ := list(&s3.ListObjectsV2Input{StartAfter: aws.String("m/1003"), Prefix: aws.String("m/")}); strings.Join(keys, ",") != "m/1004" {
		t.Errorf("listed %v after m/1003", keys)
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("b-list"), MaxKeys: aws.Int32(0)})
	if err != nil || len(out.Contents) != 0 || aws.ToBool(out.IsTruncated) {
		t.Errorf("max-keys 0: %v, %+v", err, out)
	}
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("b-list"), ContinuationToken: aws.String("m/0001")})
	mustCode(t, "a key for a continuation token", err, "InvalidArgument")
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.lab()
	for _, name := range []string{"ab", "Upper", "-dash", "dash-", "under_score", "dot.ted", strings.Repeat("a", 64)} {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		mustCode(t, "CreateBucket "+name, err, "InvalidBucketName")
	}
	_, err := e.client("nyc1", AccessKeyID, SecretAccessKey).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("in-nyc1")})
	mustCode(t, "bucket in a region without Spaces", err, "AuthorizationHeaderMalformed")
	if err == nil || !strings.Contains(err.Error(), "the region 'nyc1' is wrong") {
		t.Errorf("the refusal does not name the region: %v", err)
	}
	_, err = e.client("nyc3", "someone", SecretAccessKey).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-2")})
	mustCode(t, "unknown key", err, "InvalidAccessKeyId")
	_, err = e.client("nyc3", AccessKeyID, "wrong").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-2")})
	mustCode(t, "wrong secret", err, "SignatureDoesNotMatch")
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-2"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "ams3"}})
	mustCode(t, "a constraint for another region", err, "IllegalLocationConstraintException")
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-2"), ACL: s3types.BucketCannedACLAuthenticatedRead})
	mustCode(t, "an ACL Spaces does not take", err, "InvalidArgument")
	createBucket(t, c, "b-2")
	put(t, c, "b-2", "k", "data")

	// A bucket answers only requests signed for its region.
	ams3 := e.client("ams3", AccessKeyID, SecretAccessKey)
	_, err = ams3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-2"), Key: aws.String("k")})
	mustCode(t, "a bucket of nyc3 read for ams3", err, "AuthorizationHeaderMalformed")
	if err == nil || !strings.Contains(err.Error(), "the region 'ams3' is wrong; expecting 'nyc3'") {
		t.Errorf("the refusal does not name the bucket's region: %v", err)
	}
	if _, err := ams3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b-2")}); err == nil {
		t.Error("HeadBucket signed for ams3 found the bucket of nyc3")
	}
	_, err = ams3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-2")})
	mustCode(t, "the name again in another region", err, "BucketAlreadyOwnedByYou")

	// Anonymous requests: buckets and objects are private.
	if status, body := send(t, http.MethodGet, e.url+"/b-2/k"); status != http.StatusForbidden || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Errorf("anonymous GET: %d %s", status, body)
	}
	// A header the signature leaves out.
	req := e.signed(t, http.MethodGet, "/b-2/k", "nyc3", nil, time.Now())
	req.Header.Set("X-Amz-Meta-Extra", "1")
	if status, body := do(t, req); status != http.StatusForbidden || !strings.Contains(body, "x-amz-meta-extra") {
		t.Errorf("unsigned x-amz header: %d %s", status, body)
	}
	// A body that is not what the signature says.
	req = e.signed(t, http.MethodPut, "/b-2/k2", "nyc3", []byte("signed"), time.Now())
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader("sent!!")), 6
	if status, body := do(t, req); status != http.StatusBadRequest || !strings.Contains(body, "XAmzContentSHA256Mismatch") {
		t.Errorf("payload mismatch: %d %s", status, body)
	}
	// S3 calls the simulator does not serve are not taken for others.
	_, err = c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("b-2"), ACL: s3types.BucketCannedACLPrivate})
	mustCode(t, "PutBucketAcl", err, "NotImplemented")

	// Header signatures are good for 15 minutes either side of the clock.
	for _, off := range []time.Duration{-16 * time.Minute, 16 * time.Minute} {
		if status, body := do(t, e.signed(t, http.MethodGet, "/b-2/k", "nyc3", nil, e.clock.now().Add(off))); status != http.StatusForbidden ||
			!strings.Contains(body, "RequestTimeTooSkewed") {
			t.Errorf("signed %v off: %d %s", off, status, body)
		}
	}
	if status, body := do(t, e.signed(t, http.MethodGet, "/b-2/k", "nyc3", nil, e.clock.now().Add(-14*time.Minute))); status != http.StatusOK || body != "data" {
		t.Errorf("signed 14 minutes ago: %d %s", status, body)
	}

	// At most 100 buckets.
	for i := len(e.sim.Resources()) - 1; i < maxBuckets; i++ {
		createBucket(t, c, fmt.Sprintf("many-%03d", i))
	}
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("one-too-many")})
	mustCode(t, "bucket 101", err, "TooManyBuckets")
}

// Presigned URLs work with plain HTTP, no key, for their method alone
// and until they expire; a tampered one does not.
func TestPresignedURLs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.lab()
	createBucket(t, c, "capi-bootstrap-u")
	put(t, c, "capi-bootstrap-u", "m/a.gz", "data")
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
	if status, body := send(t, http.MethodGet, strings.Replace(get.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1)); status != 403 ||
		!strings.Contains(body, "SignatureDoesNotMatch") {
		t.Errorf("tampered URL: %d %s", status, body)
	}
	if status, body := send(t, http.MethodGet, strings.Replace(get.URL, "/m/a.gz?", "/m/b.gz?", 1)); status != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Errorf("URL for another key: %d %s", status, body)
	}
	if status, body := send(t, http.MethodGet, get.URL); status != 200 || body != "data" {
		t.Errorf("presigned GET: %d %s", status, body)
	}
	if status, body := send(t, http.MethodDelete, get.URL); status != 403 {
		t.Errorf("a GET URL deleted: %d %s", status, body)
	}
	if status, body := send(t, http.MethodDelete, del.URL); status != 204 {
		t.Errorf("presigned DELETE: %d %s", status, body)
	}
	if status, body := send(t, http.MethodGet, get.URL); status != 404 || !strings.Contains(body, "NoSuchKey") {
		t.Errorf("GET after the DELETE: %d %s", status, body)
	}
	if status, body := send(t, http.MethodDelete, del.URL); status != 204 {
		t.Errorf("DELETE again: %d %s", status, body)
	}

	// Signed for another region than the bucket's.
	ams3, err := s3.NewPresignClient(e.client("ams3", AccessKeyID, SecretAccessKey)).PresignGetObject(ctx,
		&s3.GetObjectInput{Bucket: aws.String("capi-bootstrap-u"), Key: aws.String("m/a.gz")}, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := send(t, http.MethodGet, ams3.URL); status != 400 || !strings.Contains(body, "AuthorizationQueryParametersError") ||
		!strings.Contains(body, "expecting &#39;nyc3&#39;") {
		t.Errorf("URL signed for ams3: %d %s", status, body)
	}

	// X-Amz-Expires from 1 second to a week.
	for _, expires := range []string{"0", "604801"} {
		u, _ := url.Parse(get.URL)
		q := u.Query()
		q.Set("X-Amz-Expires", expires)
		u.RawQuery = q.Encode()
		if status, body := send(t, http.MethodGet, u.String()); status != 400 || !strings.Contains(body, "AuthorizationQueryParametersError") {
			t.Errorf("X-Amz-Expires=%s: %d %s", expires, status, body)
		}
	}

	put(t, c, "capi-bootstrap-u", "m/a.gz", "data")
	e.clock.add(14 * time.Minute)
	if status, body := send(t, http.MethodGet, get.URL); status != 200 || body != "data" {
		t.Errorf("URL 14 minutes old: %d %s", status, body)
	}
	e.clock.add(2 * time.Minute)
	if status, body := send(t, http.MethodGet, get.URL); status != 403 || !strings.Contains(body, "Request has expired") {
		t.Errorf("expired URL: %d %s", status, body)
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var calls []string
	faults := map[string]string{}
	e.sim.Fault = func(action string) string {
		calls = append(calls, action)
		return faults[action]
	}
	c := e.lab()
	faults["spaces:CreateBucket"] = FaultThrottling
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-3")})
	mustCode(t, "throttled CreateBucket", err, "SlowDown")
	faults["spaces:CreateBucket"] = FaultQuota
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-3")})
	mustCode(t, "CreateBucket over quota", err, "TooManyBuckets")
	delete(faults, "spaces:CreateBucket")
	createBucket(t, c, "b-3")

	faults["spaces:PutObject"] = FaultServer
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-3"), Key: aws.String("k"), Body: strings.NewReader("x")})
	mustCode(t, "PutObject failing", err, "InternalError")
	if n := len(e.sim.Resources()); n != 1 {
		t.Errorf("a failed PutObject stored something: %v", e.sim.Resources())
	}
	// The answer is lost after Spaces stored the object.
	faults["spaces:PutObject"] = FaultDoneThenServer
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-3"), Key: aws.String("k"), Body: strings.NewReader("x")})
	mustCode(t, "PutObject answered 500", err, "InternalError")
	if r := e.sim.Resources(); len(r) != 2 || r[1].ID != "b-3/k" {
		t.Errorf("after a lost answer: %v", r)
	}
	if got := strings.Join(calls, ","); got != "spaces:CreateBucket,spaces:CreateBucket,spaces:CreateBucket,spaces:PutObject,spaces:PutObject" {
		t.Errorf("calls %s", got)
	}
}
