package spacessim

import (
	"encoding/xml"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// bucketName is Spaces' rule: 3 to 63 lowercase letters, digits and
// hyphens, starting and ending with a letter or digit.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

// lookup returns the bucket for a request signed for region. It runs with
// the lock held.
func (s *Simulator) lookup(name, region string) (*bucket, *s3Error) {
	b := s.buckets[name]
	if b == nil {
		return nil, errNoSuchBucket()
	}
	if b.region != region {
		return nil, newError(http.StatusBadRequest, "AuthorizationHeaderMalformed",
			"the region '%s' is wrong; expecting '%s'", region, b.region)
	}
	return b, nil
}

func (s *Simulator) createBucket(w http.ResponseWriter, _ *http.Request, name, region string) *s3Error {
	if !bucketName.MatchString(name) {
		return newError(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] != nil {
		// One account: any existing name is its own.
		return newError(http.StatusConflict, "BucketAlreadyOwnedByYou",
			"Your previous request to create the named bucket succeeded and you already own it.")
	}
	if len(s.buckets) >= maxBuckets {
		return newError(http.StatusBadRequest, "TooManyBuckets", "You have attempted to create more buckets than allowed.")
	}
	s.buckets[name] = &bucket{name: name, region: region, created: s.Now(), objects: map[string]*object{}}
	w.Header().Set("Location", "/"+name)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Simulator) headBucket(w http.ResponseWriter, name, region string) *s3Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.lookup(name, region); e != nil {
		return e
	}
	w.Header().Set("x-amz-bucket-region", region)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Simulator) deleteBucket(w http.ResponseWriter, name, region string) *s3Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.lookup(name, region)
	if e != nil {
		return e
	}
	if len(b.objects) > 0 {
		return newError(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty.")
	}
	delete(s.buckets, name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type listResult struct {
	XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	MaxKeys               int            `xml:"MaxKeys"`
	KeyCount              int            `xml:"KeyCount"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	Contents              []listedObject `xml:"Contents"`
}

type listedObject struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

// listObjects is ListObjectsV2: keys in order, max-keys at a time (1,000
// at most), continued after the token's key.
func (s *Simulator) listObjects(w http.ResponseWriter, r *http.Request, name, region string) *s3Error {
	q := r.URL.Query()
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return newError(http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		maxKeys = min(n, 1000)
	}
	prefix, token := q.Get("prefix"), q.Get("continuation-token")
	s.mu.Lock()
	b, e := s.lookup(name, region)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	var keys []string
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) && (token == "" || k > token) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := listResult{Name: name, Prefix: prefix, MaxKeys: maxKeys, ContinuationToken: token}
	for _, k := range keys {
		if len(out.Contents) == maxKeys {
			out.IsTruncated = true
			out.NextContinuationToken = out.Contents[len(out.Contents)-1].Key
			break
		}
		o := b.objects[k]
		out.Contents = append(out.Contents, listedObject{Key: k, LastModified: o.modified.UTC().Format(time.RFC3339),
			ETag: o.etag, Size: len(o.data), StorageClass: "STANDARD"})
	}
	s.mu.Unlock()
	out.KeyCount = len(out.Contents)
	w.Header().Set("Content-Type", "application/xml")
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(out)
	return nil
}
