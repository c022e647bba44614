package spacessim

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// bucketName is Spaces' rule: 3 to 63 lowercase letters, digits and
// hyphens, starting and ending with a letter or digit.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

// cannedACLs are the canned ACLs Spaces takes. Buckets and objects are
// private unless a request says public-read; the simulator serves no
// anonymous read either way, which the lab never makes.
var cannedACLs = []string{"", "private", "public-read"}

func checkACL(r *http.Request) *s3Error {
	acl := r.Header.Get("X-Amz-Acl")
	for _, ok := range cannedACLs {
		if acl == ok {
			return nil
		}
	}
	return errInvalidArgument("Invalid canned ACL %q: Spaces takes private or public-read", acl)
}

// lookup returns the bucket a call names. It runs with the lock held.
func (s *Simulator) lookup(c call) (*bucket, *s3Error) {
	b := s.buckets[c.bucket]
	if b == nil {
		return nil, errNoSuchBucket()
	}
	if b.region != c.region {
		// S3 tells the client where the bucket is.
		e := c.malformed("the region '%s' is wrong; expecting '%s'", c.region, b.region)
		e.bucketRegion = b.region
		return nil, e
	}
	return b, nil
}

// createBucketConfiguration is CreateBucket's optional body.
type createBucketConfiguration struct {
	LocationConstraint string `xml:"LocationConstraint"`
}

func (s *Simulator) createBucket(w http.ResponseWriter, r *http.Request, c call) *s3Error {
	if !bucketName.MatchString(c.bucket) {
		return newError(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
	}
	if e := checkACL(r); e != nil {
		return e
	}
	body, e := readPayload(r, 1<<20)
	if e != nil {
		return e
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var conf createBucketConfiguration
		if err := xml.Unmarshal(body, &conf); err != nil {
			return newError(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
		}
		// The bucket is made where the request was signed; a
		// constraint may only say the same.
		if conf.LocationConstraint != "" && conf.LocationConstraint != c.region {
			return newError(http.StatusBadRequest, "IllegalLocationConstraintException",
				"The %s location constraint is incompatible for the region specific endpoint this request was sent to.", conf.LocationConstraint)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[c.bucket] != nil {
		// One account: any existing name is its own.
		return newError(http.StatusConflict, "BucketAlreadyOwnedByYou",
			"Your previous request to create the named bucket succeeded and you already own it.")
	}
	if len(s.buckets) >= maxBuckets {
		return errTooManyBuckets()
	}
	s.buckets[c.bucket] = &bucket{name: c.bucket, region: c.region, created: s.Now(), objects: map[string]*object{}}
	w.Header().Set("Location", "/"+c.bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Simulator) headBucket(w http.ResponseWriter, c call) *s3Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.lookup(c); e != nil {
		return e
	}
	w.Header().Set("x-amz-bucket-region", c.region)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Simulator) deleteBucket(w http.ResponseWriter, c call) *s3Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.lookup(c)
	if e != nil {
		return e
	}
	if len(b.objects) > 0 {
		return newError(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty.")
	}
	delete(s.buckets, c.bucket)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type listResult struct {
	XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	KeyCount              int            `xml:"KeyCount"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	Contents              []listedObject `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

type listedObject struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// Continuation tokens are opaque to clients, as S3's are: a token is the
// last key (or common prefix) of the page before.
func continuationToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(after))
}

func parseContinuationToken(token string) (string, bool) {
	after, err := base64.RawURLEncoding.DecodeString(token)
	return string(after), err == nil && len(after) > 0
}

// listObjects is ListObjectsV2: keys in order under prefix, rolled up to
// common prefixes at the delimiter, max-keys entries a page (1,000 at
// most), continued after the token's entry or start-after.
func (s *Simulator) listObjects(w http.ResponseWriter, r *http.Request, c call) *s3Error {
	q := r.URL.Query()
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errInvalidArgument("Provided max-keys not an integer or within integer range")
		}
		maxKeys = min(n, 1000)
	}
	encoding := q.Get("encoding-type")
	if encoding != "" && encoding != "url" {
		return errInvalidArgument("Invalid Encoding Method specified in Request")
	}
	prefix, delimiter, token := q.Get("prefix"), q.Get("delimiter"), q.Get("continuation-token")
	after := q.Get("start-after")
	if q.Has("continuation-token") {
		var ok bool
		if after, ok = parseContinuationToken(token); !ok {
			return errInvalidArgument("The continuation token provided is incorrect")
		}
	}
	s.mu.Lock()
	b, e := s.lookup(c)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	// entries are the keys and common prefixes in order, each once.
	type entry struct {
		name   string
		object *object
	}
	var entries []entry
	seen := map[string]bool{}
	for k, o := range b.objects {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if delimiter != "" {
			if i := strings.Index(k[len(prefix):], delimiter); i >= 0 {
				if p := k[:len(prefix)+i+len(delimiter)]; !seen[p] {
					seen[p] = true
					entries = append(entries, entry{name: p})
				}
				continue
			}
		}
		entries = append(entries, entry{name: k, object: o})
	}
	s.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })

	enc := func(s string) string { return s }
	if encoding == "url" {
		enc = func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	}
	out := listResult{Name: c.bucket, Prefix: enc(prefix), Delimiter: enc(delimiter), StartAfter: enc(q.Get("start-after")),
		MaxKeys: maxKeys, EncodingType: encoding, ContinuationToken: token}
	for _, en := range entries {
		if en.name <= after {
			continue
		}
		if out.KeyCount == maxKeys {
			// A page of none (max-keys=0) says nothing of the rest.
			out.IsTruncated = maxKeys > 0
			break
		}
		out.KeyCount++
		if en.object == nil {
			out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{Prefix: enc(en.name)})
		} else {
			o := en.object
			out.Contents = append(out.Contents, listedObject{Key: enc(en.name), LastModified: o.modified.UTC().Format(s3TimeFormat),
				ETag: o.etag, Size: len(o.data), StorageClass: "STANDARD"})
		}
		after = en.name
	}
	if out.IsTruncated {
		out.NextContinuationToken = continuationToken(after)
	}
	w.Header().Set("Content-Type", "application/xml")
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(out)
	return nil
}
