package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
)

// Bootstrap data through DigitalOcean Spaces. A droplet's user data is
// served by its metadata service for the droplet's whole life, and a
// control plane machine's bootstrap data holds the cluster's private
// keys. So the data is stored as a private object in a Spaces bucket of
// the cluster, and the droplet gets a boothook with two presigned URLs:
// one to fetch the object, one to delete it. The controller deletes what
// is left once the Machine has its node. Spaces is S3-compatible; the
// calls go through aws-sdk-go-v2's S3 client, as DigitalOcean documents.

// SpacesRegions are the regions with Spaces (Standard Storage), from
// DigitalOcean's availability matrix.
var SpacesRegions = []string{"ams3", "atl1", "blr1", "fra1", "lon1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"}

// HasSpaces reports whether region has Spaces.
func HasSpaces(region string) bool {
	for _, r := range SpacesRegions {
		if r == region {
			return true
		}
	}
	return false
}

// defaultSpacesEndpoint is Spaces' endpoint, {region} standing for the
// bucket's region.
const defaultSpacesEndpoint = "https://{region}.digitaloceanspaces.com"

// PresignedURLLifetime is how long a droplet's URLs for its bootstrap
// data are good for: longer than a droplet takes to boot, and than a
// MachineHealthCheck's default node startup timeout (10 minutes), after
// which a droplet that never fetched its data is replaced. The object is
// deleted well before in every other case (the droplet deletes it when it
// reads it; the controller once the Machine has a node, or the machine is
// deleted).
const PresignedURLLifetime = 15 * time.Minute

// BootstrapBucket is the bucket of a cluster's bootstrap data: named
// after the DOCluster's UID, which never repeats, so that a pass that
// died before recording it finds it again. Spaces bucket names are unique
// across every account: a UID keeps them apart too.
func BootstrapBucket(clusterUID string) string { return "capi-bootstrap-" + clusterUID }

// BootstrapObjectKey is the object of one attempt to store a machine's
// bootstrap data: under the DOMachine's UID, with the attempt's own
// suffix.
func BootstrapObjectKey(machineUID, attempt string) string {
	return MachineBootstrapPrefix(machineUID) + attempt + ".gz"
}

// MachineBootstrapPrefix is what the keys of a machine's attempts start
// with.
func MachineBootstrapPrefix(machineUID string) string { return machineUID + "/" }

// errNoSpacesKey is the error of a Spaces call without a key.
var errNoSpacesKey = &PermanentError{Reason: infrav1.BootstrapDataPermanentFailureReason,
	Err: errors.New("no Spaces access key for the bootstrap data: set the provider's spaces_access_key_id and spaces_secret_access_key " +
		"(or SPACES_ACCESS_KEY_ID and SPACES_SECRET_ACCESS_KEY), or the machine's insecure_inline_bootstrap_data")}

// Spaces is a Spaces client for one region.
type Spaces struct {
	s3      *s3.Client
	presign *s3.PresignClient
}

// spacesClients builds Spaces clients from settings, one per region, and
// keeps them (and so their connections).
type spacesClients struct {
	keyID, secret, endpoint string

	mu       sync.Mutex
	byRegion map[string]*Spaces
}

func newSpacesClients(s Settings) *spacesClients {
	return &spacesClients{
		keyID:    firstNonEmpty(s.SpacesAccessKeyID, os.Getenv("SPACES_ACCESS_KEY_ID")),
		secret:   firstNonEmpty(s.SpacesSecretAccessKey, os.Getenv("SPACES_SECRET_ACCESS_KEY")),
		endpoint: firstNonEmpty(s.SpacesEndpoint, os.Getenv("SPACES_ENDPOINT_URL"), defaultSpacesEndpoint),
		byRegion: map[string]*Spaces{},
	}
}

// HasSpacesKey reports whether a Spaces access key is configured.
func (c *Client) HasSpacesKey() bool { return c.spaces.keyID != "" && c.spaces.secret != "" }

// Spaces returns the Spaces client of region.
func (c *Client) Spaces(region string) (*Spaces, error) {
	sc := c.spaces
	if !c.HasSpacesKey() {
		return nil, errNoSpacesKey
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if s, ok := sc.byRegion[region]; ok {
		return s, nil
	}
	client := s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(strings.ReplaceAll(sc.endpoint, "{region}", region)),
		Credentials:  credentials.NewStaticCredentialsProvider(sc.keyID, sc.secret, ""),
		// Spaces answers path-style requests in every region; the lab's
		// endpoint has no per-bucket host names.
		UsePathStyle: true,
		HTTPClient:   &http.Client{Timeout: requestTimeout},
		AppID:        userAgent,
		// Spaces does not take the checksums the SDK would add by default.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	sc.byRegion[region] = &Spaces{s3: client, presign: s3.NewPresignClient(client)}
	return sc.byRegion[region], nil
}

// EnsureBucket makes the private bucket unless it exists.
func (s *Spaces) EnsureBucket(ctx context.Context, bucket string) error {
	_, err := s.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	if !isSpacesNotFound(err) {
		return spacesError("reading bucket "+bucket, err)
	}
	_, err = s.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket), ACL: s3types.BucketCannedACLPrivate})
	if spacesCode(err) == "BucketAlreadyOwnedByYou" {
		return nil
	}
	return spacesError("creating bucket "+bucket, err)
}

// PutBootstrapData stores gzipped bootstrap data as a private object.
func (s *Spaces) PutBootstrapData(ctx context.Context, bucket, key string, gz []byte) error {
	_, err := s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(string(gz)), ContentLength: aws.Int64(int64(len(gz))), ContentType: aws.String("application/gzip"),
		ACL: s3types.ObjectCannedACLPrivate})
	return spacesError("storing bootstrap data "+bucket+"/"+key, err)
}

// PresignBootstrapData returns URLs that fetch and delete the object for
// PresignedURLLifetime, with no other credential.
func (s *Spaces) PresignBootstrapData(ctx context.Context, bucket, key string) (get, del string, err error) {
	lifetime := func(o *s3.PresignOptions) { o.Expires = PresignedURLLifetime }
	g, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, lifetime)
	if err != nil {
		return "", "", fmt.Errorf("presigning bootstrap data %s/%s: %w", bucket, key, err)
	}
	d, err := s.presign.PresignDeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, lifetime)
	if err != nil {
		return "", "", fmt.Errorf("presigning bootstrap data %s/%s: %w", bucket, key, err)
	}
	return g.URL, d.URL, nil
}

// DeleteBootstrapData deletes the objects whose keys start with prefix;
// a bucket already gone has none.
func (s *Spaces) DeleteBootstrapData(ctx context.Context, bucket, prefix string) error {
	pages := s3.NewListObjectsV2Paginator(s.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if isSpacesNotFound(err) {
			return nil
		}
		if err != nil {
			return spacesError("listing bootstrap data "+bucket+"/"+prefix, err)
		}
		for _, o := range page.Contents {
			// One DELETE per object: Spaces' DeleteObjects needs a
			// Content-MD5 the SDK no longer sends by default.
			if _, err := s.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil && !isSpacesNotFound(err) {
				return spacesError("deleting bootstrap data "+bucket+"/"+aws.ToString(o.Key), err)
			}
		}
	}
	return nil
}

// DeleteBucket deletes the bucket and what is left in it; one already
// gone is fine.
func (s *Spaces) DeleteBucket(ctx context.Context, bucket string) error {
	if err := s.DeleteBootstrapData(ctx, bucket, ""); err != nil {
		return err
	}
	_, err := s.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	if isSpacesNotFound(err) {
		return nil
	}
	return spacesError("deleting bucket "+bucket, err)
}

// spacesCode is the error code of a Spaces answer, or "".
func spacesCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// isSpacesNotFound reports a missing bucket or object (HEAD answers carry
// no code, only their status).
func isSpacesNotFound(err error) bool {
	switch spacesCode(err) {
	case "NoSuchBucket", "NoSuchKey", "NotFound":
		return true
	}
	return false
}

// spacesPermanentCodes are Spaces' refusals that no retry clears.
var spacesPermanentCodes = map[string]bool{
	"AccessDenied": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true, "AuthorizationHeaderMalformed": true,
	"InvalidBucketName": true, "BucketAlreadyExists": true, "TooManyBuckets": true, "InvalidArgument": true,
}

// spacesError wraps a Spaces error with what was being done, as a
// PermanentError when Spaces refuses the request as it is. Its text keeps
// Spaces' code and message and leaves out the request IDs, so that a
// condition changes only when the error does.
func spacesError(what string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		err = &cleanError{msg: fmt.Sprintf("%s: Spaces answered %s: %s", what, apiErr.ErrorCode(), apiErr.ErrorMessage()), err: err}
	} else {
		err = fmt.Errorf("%s: %w", what, err)
	}
	if spacesPermanentCodes[spacesCode(err)] {
		return &PermanentError{Reason: infrav1.BootstrapDataPermanentFailureReason, Err: err}
	}
	return err
}

// cleanError is an error with a text of its own.
type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }
