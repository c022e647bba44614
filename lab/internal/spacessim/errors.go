package spacessim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
)

// s3Error is an S3 error answer: its status, and the Code and Message of
// its XML body.
type s3Error struct {
	status        int
	code, message string
	// bucketRegion, when set, is sent as x-amz-bucket-region, as S3 does
	// to a request signed for the wrong region.
	bucketRegion string
}

func newError(status int, code, format string, args ...any) *s3Error {
	return &s3Error{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func errAccessDenied(msg string) *s3Error {
	return newError(http.StatusForbidden, "AccessDenied", "%s", msg)
}
func errMethodNotAllowed() *s3Error {
	return newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
}
func errNotImplemented() *s3Error {
	return newError(http.StatusNotImplemented, "NotImplemented", "A header or query you provided implies functionality that is not implemented.")
}
func errInternal() *s3Error {
	return newError(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
}
func errSlowDown() *s3Error {
	return newError(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
}
func errTooManyBuckets() *s3Error {
	return newError(http.StatusBadRequest, "TooManyBuckets", "You have attempted to create more buckets than allowed.")
}
func errNoSuchBucket() *s3Error {
	return newError(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.")
}
func errNoSuchKey() *s3Error {
	return newError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
}
func errInvalidArgument(format string, args ...any) *s3Error {
	return newError(http.StatusBadRequest, "InvalidArgument", format, args...)
}

// writeError answers e as S3 does: an XML body, none to a HEAD.
func writeError(w http.ResponseWriter, r *http.Request, e *s3Error) {
	id := requestID()
	w.Header().Set("x-amz-request-id", id)
	if e.bucketRegion != "" {
		w.Header().Set("x-amz-bucket-region", e.bucketRegion)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(e.status)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	body := struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string   `xml:"Code"`
		Message   string   `xml:"Message"`
		Resource  string   `xml:"Resource"`
		RequestID string   `xml:"RequestId"`
	}{Code: e.code, Message: e.message, Resource: r.URL.Path, RequestID: id}
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(body)
}

func requestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
