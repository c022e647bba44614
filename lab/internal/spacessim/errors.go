package spacessim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
)

// s3Error is an S3 error answer.
type s3Error struct {
	status  int
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func newError(status int, code, format string, args ...any) *s3Error {
	return &s3Error{status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func errAccessDenied(msg string) *s3Error { return newError(http.StatusForbidden, "AccessDenied", "%s", msg) }
func errMethodNotAllowed() *s3Error {
	return newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
}
func errInternal() *s3Error {
	return newError(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
}
func errSlowDown() *s3Error {
	return newError(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
}
func errNoSuchBucket() *s3Error {
	return newError(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.")
}
func errNoSuchKey() *s3Error {
	return newError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
}

// writeError answers e as S3 does: an XML body, none to a HEAD.
func writeError(w http.ResponseWriter, r *http.Request, e *s3Error) {
	id := requestID()
	w.Header().Set("x-amz-request-id", id)
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
	}{Code: e.Code, Message: e.Message, Resource: r.URL.Path, RequestID: id}
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(body)
}

func requestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
