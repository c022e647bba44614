package spacessim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Signature Version 4, as S3 checks it. The simulator recomputes each
// signature with the SDK's own signer over the request as received and
// the one key it knows, so a request passes only if a real client with
// that key could have sent it.

const (
	amzDateFormat = "20060102T150405Z"
	// maxClockSkew is how far a header-signed request's time may be off.
	maxClockSkew = 15 * time.Minute
	// maxPresignExpiry is S3's limit on a presigned URL's lifetime.
	maxPresignExpiry = 7 * 24 * time.Hour
	// unsignedPayload is the payload hash of a body the signature does
	// not cover; presigned URLs sign no body.
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// signature is how a request was signed: the region of its credential
// scope, and whether in a presigned URL's query or in the header.
type signature struct {
	region    string
	presigned bool
}

// malformed is S3's refusal of a signature's scope, which it words after
// where the signature was.
func (sig signature) malformed(format string, args ...any) *s3Error {
	if sig.presigned {
		return newError(http.StatusBadRequest, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; "+format, args...)
	}
	return newError(http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed; "+format, args...)
}

// credential is a signature's scope: key, date, region, service.
type credential struct {
	keyID, date, region, service string
}

func parseCredential(s string) (credential, bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return credential{}, false
	}
	return credential{keyID: parts[0], date: parts[1], region: parts[2], service: parts[3]}, true
}

// authenticate checks the request's signature. Buckets and objects are
// private: an anonymous request is refused.
func (s *Simulator) authenticate(r *http.Request) (signature, *s3Error) {
	q := r.URL.Query()
	presigned := q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature")
	header := r.Header.Get("Authorization") != ""
	switch {
	case presigned && header:
		return signature{}, errInvalidArgument("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, " +
			"Signature query string parameter or the Authorization header should be specified")
	case presigned:
		return s.checkPresigned(r, q)
	case header:
		return s.checkHeader(r)
	}
	return signature{}, errAccessDenied("Access Denied")
}

// checkScope checks a signature's key, date, service and region.
func checkScope(sig signature, c credential, signed time.Time) *s3Error {
	if c.keyID != AccessKeyID {
		return newError(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	}
	if c.date != signed.Format("20060102") {
		return sig.malformed("Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	if c.service != "s3" {
		return sig.malformed("incorrect service '%s'. This endpoint belongs to 's3'.", c.service)
	}
	if !slices.Contains(Regions, c.region) {
		return sig.malformed("the region '%s' is wrong; Spaces is in %s", c.region, strings.Join(Regions, ", "))
	}
	return nil
}

// checkUnsignedHeaders refuses x-amz-* headers the signature leaves out:
// S3 takes none it cannot trust.
func checkUnsignedHeaders(r *http.Request, signedHeaders []string) *s3Error {
	var unsigned []string
	for h := range r.Header {
		h = strings.ToLower(h)
		if strings.HasPrefix(h, "x-amz-") && !slices.Contains(signedHeaders, h) {
			unsigned = append(unsigned, h)
		}
	}
	if len(unsigned) > 0 {
		slices.Sort(unsigned)
		return errAccessDenied("There were headers present in the request which were not signed: " + strings.Join(unsigned, ", "))
	}
	return nil
}

func (s *Simulator) checkHeader(r *http.Request) (signature, *s3Error) {
	sig := signature{}
	algorithm, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if algorithm != "AWS4-HMAC-SHA256" {
		return sig, newError(http.StatusBadRequest, "InvalidArgument", "Unsupported Authorization Type: only AWS4-HMAC-SHA256 signatures are supported.")
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	cred, ok := parseCredential(fields["Credential"])
	if !ok || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return sig, sig.malformed("it must hold Credential=<key>/<date>/<region>/s3/aws4_request, SignedHeaders and Signature.")
	}
	sig.region = cred.region
	signed, err := time.Parse(amzDateFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return sig, errAccessDenied("AWS authentication requires a valid Date or x-amz-date header")
	}
	if e := checkScope(sig, cred, signed); e != nil {
		return sig, e
	}
	if d := s.Now().Sub(signed); d > maxClockSkew || d < -maxClockSkew {
		return sig, newError(http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		return sig, newError(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
	}
	signedHeaders := strings.Split(fields["SignedHeaders"], ";")
	if e := checkUnsignedHeaders(r, signedHeaders); e != nil {
		return sig, e
	}
	again := unsignedCopy(r, r.URL.Query(), signedHeaders)
	if err := v4.NewSigner(s3Signing).SignHTTP(context.Background(), lab(), again, payload, "s3", cred.region, signed); err != nil {
		return sig, signatureMismatch()
	}
	if !strings.HasSuffix(again.Header.Get("Authorization"), "Signature="+fields["Signature"]) {
		return sig, signatureMismatch()
	}
	return sig, nil
}

// presignParameters are the query parameters of a presigned URL that the
// signer adds; the signature covers the rest of the query.
var presignParameters = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"}

func (s *Simulator) checkPresigned(r *http.Request, q url.Values) (signature, *s3Error) {
	sig := signature{presigned: true}
	for _, p := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		if q.Get(p) == "" {
			return sig, newError(http.StatusBadRequest, "AuthorizationQueryParametersError",
				"Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return sig, newError(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	cred, ok := parseCredential(q.Get("X-Amz-Credential"))
	if !ok {
		return sig, sig.malformed("it must be <key>/<date>/<region>/s3/aws4_request.")
	}
	sig.region = cred.region
	signed, err := time.Parse(amzDateFormat, q.Get("X-Amz-Date"))
	if err != nil {
		return sig, newError(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	if e := checkScope(sig, cred, signed); e != nil {
		return sig, e
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 1 || time.Duration(expires)*time.Second > maxPresignExpiry {
		return sig, newError(http.StatusBadRequest, "AuthorizationQueryParametersError",
			"X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	if s.Now().After(signed.Add(time.Duration(expires) * time.Second)) {
		return sig, errAccessDenied("Request has expired")
	}
	signedHeaders := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	if e := checkUnsignedHeaders(r, signedHeaders); e != nil {
		return sig, e
	}
	rest := url.Values{}
	for k, v := range q {
		if !slices.Contains(presignParameters, k) {
			rest[k] = v
		}
	}
	again := unsignedCopy(r, rest, signedHeaders)
	u, _, err := v4.NewSigner(s3Signing).PresignHTTP(context.Background(), lab(), again, unsignedPayload, "s3", cred.region, signed)
	if err != nil {
		return sig, signatureMismatch()
	}
	presigned, err := url.Parse(u)
	if err != nil || presigned.Query().Get("X-Amz-Signature") != q.Get("X-Amz-Signature") {
		return sig, signatureMismatch()
	}
	return sig, nil
}

func signatureMismatch() *s3Error {
	return newError(http.StatusForbidden, "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
}

// s3Signing is how S3 signs: the path as sent, not escaped again.
func s3Signing(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }

func lab() aws.Credentials {
	return aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
}

// unsignedCopy is the request as its signer saw it: method, host, path as
// sent, query, and the signed headers alone.
func unsignedCopy(r *http.Request, query url.Values, signedHeaders []string) *http.Request {
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), RawQuery: query.Encode()}
	again := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}}
	for _, h := range signedHeaders {
		switch strings.ToLower(h) {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			for _, v := range r.Header.Values(h) {
				again.Header.Add(h, v)
			}
		}
	}
	return again
}

// readPayload reads a request's body, at most limit bytes, and checks it
// against the x-amz-content-sha256 the signature covers.
func readPayload(r *http.Request, limit int64) ([]byte, *s3Error) {
	if r.ContentLength > limit {
		return nil, newError(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if strings.HasPrefix(hash, "STREAMING-") || r.Header.Get("Content-Encoding") == "aws-chunked" {
		// Chunked uploads: the SDK sends them only with checksums that
		// the provider's client leaves off.
		return nil, errNotImplemented()
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, newError(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	}
	if int64(len(data)) > limit {
		return nil, newError(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
	}
	if hash != "" && hash != unsignedPayload {
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != hash {
			return nil, newError(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	return data, nil
}
