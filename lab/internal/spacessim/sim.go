// Package spacessim simulates DigitalOcean Spaces, the S3-compatible
// object storage, as strictly as the lab needs: path-style requests
// (/{bucket}/{key}) signed with AWS Signature Version 4, in the header or
// presigned in the query, verified for real with the lab's one key; the
// bucket and object calls the provider makes, with the codes and statuses
// S3 answers. Each bucket lives in the region its creation was signed
// for, and only regions with Spaces have buckets.
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

// Simulator is Spaces for one account. It is safe for concurrent use.
type Simulator struct {
	// Now is the clock (signatures, expiry); default time.Now.
	Now func() time.Time
	// Fault, when set, is asked before each call with its action
	// ("spaces:PutObject"); it counts the call and returns "throttling"
	// or "server" to fail it, "" to let it through.
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

// Resources lists every bucket and object.
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
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].ID < out[j].Kind+out[j].ID })
	return out
}

// ServeHTTP answers a Spaces request.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucketName, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	action := actionOf(r, bucketName, key)
	if action == "" {
		writeError(w, r, errMethodNotAllowed())
		return
	}
	if s.Fault != nil {
		switch s.Fault("spaces:" + action) {
		case "":
		case "server":
			writeError(w, r, errInternal())
			return
		default:
			writeError(w, r, errSlowDown())
			return
		}
	}
	region, e := s.authenticate(r)
	if e != nil {
		writeError(w, r, e)
		return
	}
	switch action {
	case "CreateBucket":
		e = s.createBucket(w, r, bucketName, region)
	case "HeadBucket":
		e = s.headBucket(w, bucketName, region)
	case "DeleteBucket":
		e = s.deleteBucket(w, bucketName, region)
	case "ListObjectsV2":
		e = s.listObjects(w, r, bucketName, region)
	case "PutObject":
		e = s.putObject(w, r, bucketName, key, region)
	case "GetObject", "HeadObject":
		e = s.getObject(w, r, bucketName, key, region)
	case "DeleteObject":
		e = s.deleteObject(w, bucketName, key, region)
	}
	if e != nil {
		writeError(w, r, e)
	}
}

// actionOf names the S3 action of a request, "" for none the simulator
// serves.
func actionOf(r *http.Request, bucket, key string) string {
	if bucket == "" {
		return ""
	}
	if key == "" {
		switch r.Method {
		case http.MethodPut:
			return "CreateBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		case http.MethodGet:
			if r.URL.Query().Get("list-type") == "2" {
				return "ListObjectsV2"
			}
		}
		return ""
	}
	switch r.Method {
	case http.MethodPut:
		return "PutObject"
	case http.MethodGet:
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodDelete:
		return "DeleteObject"
	}
	return ""
}
