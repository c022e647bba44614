package spacessim

import (
	"context"
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
)

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

// authenticate checks the request's signature and returns the region it
// was signed for.
func (s *Simulator) authenticate(r *http.Request) (string, *s3Error) {
	q := r.URL.Query()
	switch {
	case q.Get("X-Amz-Algorithm") != "":
		return s.checkPresigned(r, q)
	case r.Header.Get("Authorization") != "":
		return s.checkHeader(r)
	}
	return "", errAccessDenied("Access Denied")
}

// checkScope checks a signature's key and region.
func checkScope(c credential) *s3Error {
	if c.keyID != AccessKeyID {
		return newError(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	}
	if c.service != "s3" {
		return newError(http.StatusBadRequest, "AuthorizationHeaderMalformed", "the service '%s' is wrong; expecting 's3'", c.service)
	}
	if !slices.Contains(Regions, c.region) {
		return newError(http.StatusBadRequest, "AuthorizationHeaderMalformed",
			"the region '%s' is wrong: Spaces is in %s", c.region, strings.Join(Regions, ", "))
	}
	return nil
}

func (s *Simulator) checkHeader(r *http.Request) (string, *s3Error) {
	malformed := newError(http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
	auth := r.Header.Get("Authorization")
	algorithm, rest, _ := strings.Cut(auth, " ")
	if algorithm != "AWS4-HMAC-SHA256" {
		return "", newError(http.StatusBadRequest, "InvalidRequest", "Only AWS4-HMAC-SHA256 signatures are supported.")
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	cred, ok := parseCredential(fields["Credential"])
	if !ok || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return "", malformed
	}
	if e := checkScope(cred); e != nil {
		return "", e
	}
	signed, err := time.Parse(amzDateFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "", newError(http.StatusForbidden, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
	}
	if d := s.Now().Sub(signed); d > maxClockSkew || d < -maxClockSkew {
		return "", newError(http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		return "", newError(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
	}
	again := unsignedCopy(r, r.URL.Query(), strings.Split(fields["SignedHeaders"], ";"))
	if err := v4.NewSigner(s3Signing).SignHTTP(context.Background(), lab(), again, payload, "s3", cred.region, signed); err != nil {
		return "", malformed
	}
	if !strings.HasSuffix(again.Header.Get("Authorization"), "Signature="+fields["Signature"]) {
		return "", signatureMismatch()
	}
	return cred.region, nil
}

func (s *Simulator) checkPresigned(r *http.Request, q url.Values) (string, *s3Error) {
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return "", newError(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	cred, ok := parseCredential(q.Get("X-Amz-Credential"))
	if !ok {
		return "", newError(http.StatusBadRequest, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter")
	}
	if e := checkScope(cred); e != nil {
		return "", e
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 1 || time.Duration(expires)*time.Second > maxPresignExpiry {
		return "", newError(http.StatusBadRequest, "AuthorizationQueryParametersError",
			"X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	signed, err := time.Parse(amzDateFormat, q.Get("X-Amz-Date"))
	if err != nil {
		return "", newError(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long Format")
	}
	if s.Now().After(signed.Add(time.Duration(expires) * time.Second)) {
		return "", errAccessDenied("Request has expired")
	}
	signature := q.Get("X-Amz-Signature")
	rest := url.Values{}
	for k, v := range q {
		switch k {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token":
		default:
			rest[k] = v
		}
	}
	again := unsignedCopy(r, rest, strings.Split(q.Get("X-Amz-SignedHeaders"), ";"))
	u, _, err := v4.NewSigner(s3Signing).PresignHTTP(context.Background(), lab(), again, "UNSIGNED-PAYLOAD", "s3", cred.region, signed)
	if err != nil {
		return "", errAccessDenied("Access Denied")
	}
	presigned, err := url.Parse(u)
	if err != nil || presigned.Query().Get("X-Amz-Signature") != signature {
		return "", signatureMismatch()
	}
	return cred.region, nil
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
