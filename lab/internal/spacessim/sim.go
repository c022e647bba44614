// Package spacessim simulates DigitalOcean Spaces, the S3-compatible
// object storage, as strictly as the lab needs: path-style requests
// (/{bucket}/{key}) signed with AWS Signature Version 4, in the header or
// presigned in the query, verified for real with the lab's one key; the
// bucket and object calls the provider makes, with the codes and statuses
// S3 answers. Each bucket lives in the region its creation was signed
// for, and only regions with Spaces have buckets. Reads follow writes at
// once, as on S3 and Spaces today.
package spacessim

import (
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// The lab's Spaces key: the one access key the simulator knows.
const (
	AccessKeyID     = "capi-lab-spaces"
	SecretAccessKey = "capi-lab-spaces-secret"
)

// Regions are those with Spaces (Standard Storage), from DigitalOcean's
// availability matrix: not nyc1, nyc2 or ric1.
var Regions = []string{"ams3", "atl1", "blr1", "fra1", "lon1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"}

// maxBuckets is Spaces' default limit of buckets per account.
const maxBuckets = 100

// The faults Simulator.Fault may answer, named as the lab's control API
// names them.
const (
	// FaultThrottling answers 503 SlowDown without doing anything.
	FaultThrottling = "throttling"
	// FaultServer answers 500 InternalError without doing anything.
	FaultServer = "server"
	// FaultDoneThenServer does the call, then answers 500 InternalError:
	// the answer was lost after Spaces acted.
	FaultDoneThenServer = "created-then-server"
	// FaultQuota answers CreateBucket with TooManyBuckets, the one limit
	// Spaces puts on an account; other calls are throttled.
	FaultQuota = "quota"
)

// Simulator is Spaces for one account. It is safe for concurrent use.
type Simulator struct {
	// Now is the clock (signatures, expiry); default time.Now.
	Now func() time.Time
	// Fault, when set, is asked before each call with its action
	// ("spaces:PutObject"); it counts the call and returns one of the
	// Fault kinds to fail it, "" to let it through.
	Fault func(action string) string

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	name, region string
	created      time.Time
	objects      map[string]*object
}

type object struct {
	data        []byte
	contentType string
	etag        string
	modified    time.Time
}

// New returns an empty Spaces.
func New() *Simulator {
	return &Simulator{Now: time.Now, buckets: map[string]*bucket{}}
}

// Resource is a live bucket or object, for the lab's leak checks.
type Resource struct {
	// Kind is spaces_bucket or spaces_object.
	Kind string
	// ID is the bucket's name, or bucket/key.
	ID     string
	Region string
}

// Resources lists every bucket and object, sorted by kind and ID.
func (s *Simulator) Resources() []Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Resource
	for _, b := range s.buckets {
		out = append(out, Resource{Kind: "spaces_bucket", ID: b.name, Region: b.region})
		for key := range b.objects {
			out = append(out, Resource{Kind: "spaces_object", ID: b.name + "/" + key, Region: b.region})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// call is an authenticated request: the bucket and key it names, and how
// it was signed.
type call struct {
	bucket, key string
	signature
}

// ServeHTTP answers a Spaces request.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucketName, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	action, e := actionOf(r, bucketName, key)
	if e != nil {
		writeError(w, r, e)
		return
	}
	fault := ""
	if s.Fault != nil {
		fault = s.Fault("spaces:" + action)
	}
	switch {
	case fault == "" || fault == FaultDoneThenServer:
	case fault == FaultServer:
		writeError(w, r, errInternal())
		return
	case fault == FaultQuota && action == "CreateBucket":
		writeError(w, r, errTooManyBuckets())
		return
	default:
		writeError(w, r, errSlowDown())
		return
	}
	sig, e := s.authenticate(r)
	if e != nil {
		writeError(w, r, e)
		return
	}
	out := w
	if fault == FaultDoneThenServer {
		// Spaces acts, and the client never hears of it.
		out = &lostAnswer{header: http.Header{}}
	}
	if e := s.serve(out, r, action, call{bucket: bucketName, key: key, signature: sig}); e != nil {
		writeError(out, r, e)
	}
	if fault == FaultDoneThenServer {
		writeError(w, r, errInternal())
	}
}

func (s *Simulator) serve(w http.ResponseWriter, r *http.Request, action string, c call) *s3Error {
	switch action {
	case "CreateBucket":
		return s.createBucket(w, r, c)
	case "HeadBucket":
		return s.headBucket(w, c)
	case "DeleteBucket":
		return s.deleteBucket(w, c)
	case "ListObjectsV2":
		return s.listObjects(w, r, c)
	case "PutObject":
		return s.putObject(w, r, c)
	case "GetObject", "HeadObject":
		return s.getObject(w, r, c)
	case "DeleteObject":
		return s.deleteObject(w, c)
	}
	return errNotImplemented()
}

// subresources are the query parameters that turn a bucket or object
// request into another S3 call (PUT /b?acl is PutBucketAcl, not
// CreateBucket). The simulator serves none of those calls.
var subresources = []string{
	"accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption", "intelligent-tiering", "inventory",
	"legal-hold", "lifecycle", "location", "logging", "metrics", "notification", "object-lock", "ownershipControls",
	"partNumber", "policy", "policyStatus", "publicAccessBlock", "replication", "requestPayment", "restore", "retention",
	"select", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website",
}

// actionOf names the S3 action of a request; the simulator serves no
// other.
func actionOf(r *http.Request, bucket, key string) (string, *s3Error) {
	q := r.URL.Query()
	for _, sub := range subresources {
		if q.Has(sub) {
			return "", errNotImplemented()
		}
	}
	if bucket == "" {
		// ListBuckets, which the lab does not serve.
		return "", errNotImplemented()
	}
	if key == "" {
		switch r.Method {
		case http.MethodPut:
			return "CreateBucket", nil
		case http.MethodHead:
			return "HeadBucket", nil
		case http.MethodDelete:
			return "DeleteBucket", nil
		case http.MethodGet:
			if q.Get("list-type") == "2" {
				return "ListObjectsV2", nil
			}
			// ListObjects (version 1).
			return "", errNotImplemented()
		}
		return "", errMethodNotAllowed()
	}
	switch r.Method {
	case http.MethodPut:
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			// CopyObject.
			return "", errNotImplemented()
		}
		return "PutObject", nil
	case http.MethodGet:
		return "GetObject", nil
	case http.MethodHead:
		return "HeadObject", nil
	case http.MethodDelete:
		return "DeleteObject", nil
	}
	return "", errMethodNotAllowed()
}

// lostAnswer is a response nobody reads.
type lostAnswer struct{ header http.Header }

func (l *lostAnswer) Header() http.Header         { return l.header }
func (l *lostAnswer) Write(b []byte) (int, error) { return len(b), nil }
func (l *lostAnswer) WriteHeader(int)             {}
