package spacessim

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
)

// maxObjectSize is S3's limit on a single PUT.
const maxObjectSize = 5 << 30

func (s *Simulator) putObject(w http.ResponseWriter, r *http.Request, name, key, region string) *s3Error {
	if r.ContentLength > maxObjectSize {
		return newError(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
	}
	if r.Header.Get("Content-Encoding") == "aws-chunked" || r.Header.Get("X-Amz-Decoded-Content-Length") != "" {
		return newError(http.StatusNotImplemented, "NotImplemented", "Chunked uploads are not supported.")
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxObjectSize+1))
	if err != nil {
		return newError(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	}
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != "UNSIGNED-PAYLOAD" {
		if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != h {
			return newError(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	sum := md5.Sum(data)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.lookup(name, region)
	if e != nil {
		return e
	}
	b.objects[key] = &object{data: data, contentType: r.Header.Get("Content-Type"), etag: etag, modified: s.Now()}
	w.Header().Set("ETag", etag)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Simulator) getObject(w http.ResponseWriter, r *http.Request, name, key, region string) *s3Error {
	s.mu.Lock()
	b, e := s.lookup(name, region)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	o := b.objects[key]
	s.mu.Unlock()
	if o == nil {
		return errNoSuchKey()
	}
	if o.contentType != "" {
		w.Header().Set("Content-Type", o.contentType)
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
func (s *Simulator) deleteObject(w http.ResponseWriter, name, key, region string) *s3Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.lookup(name, region)
	if e != nil {
		return e
	}
	delete(b.objects, key)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
