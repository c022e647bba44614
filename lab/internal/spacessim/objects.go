package spacessim

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
)

const (
	// maxObjectSize is S3's limit on a single PUT.
	maxObjectSize = 5 << 30
	// maxKeyLength is S3's limit on a key, in bytes of UTF-8.
	maxKeyLength = 1024
	// s3TimeFormat is how S3's XML writes times.
	s3TimeFormat = "2006-01-02T15:04:05.000Z"
)

func (s *Simulator) putObject(w http.ResponseWriter, r *http.Request, c call) *s3Error {
	if len(c.key) > maxKeyLength {
		return newError(http.StatusBadRequest, "KeyTooLongError", "Your key is too long")
	}
	if e := checkACL(r); e != nil {
		return e
	}
	data, e := readPayload(r, maxObjectSize)
	if e != nil {
		return e
	}
	sum := md5.Sum(data)
	if want := r.Header.Get("Content-Md5"); want != "" {
		got, err := base64.StdEncoding.DecodeString(want)
		if err != nil || len(got) != md5.Size {
			return newError(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		if string(got) != string(sum[:]) {
			return newError(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.lookup(c)
	if e != nil {
		return e
	}
	// A new object replaces the old one whole: readers holding the old
	// one keep reading it.
	b.objects[c.key] = &object{data: data, contentType: r.Header.Get("Content-Type"), etag: etag, modified: s.Now()}
	w.Header().Set("ETag", etag)
	w.WriteHeader(http.StatusOK)
	return nil
}

// getObject is GetObject, or HeadObject without the body.
func (s *Simulator) getObject(w http.ResponseWriter, r *http.Request, c call) *s3Error {
	s.mu.Lock()
	b, e := s.lookup(c)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	o := b.objects[c.key]
	s.mu.Unlock()
	if o == nil {
		return errNoSuchKey()
	}
	if o.contentType != "" {
		w.Header().Set("Content-Type", o.contentType)
	} else {
		w.Header().Set("Content-Type", "binary/octet-stream")
	}
	w.Header().Set("ETag", o.etag)
	w.Header().Set("Content-Length", strconv.Itoa(len(o.data)))
	w.Header().Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(o.data)
	}
	return nil
}

// deleteObject answers 204 for a key that is not there too, as S3 does.
func (s *Simulator) deleteObject(w http.ResponseWriter, c call) *s3Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.lookup(c)
	if e != nil {
		return e
	}
	delete(b.objects, c.key)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
