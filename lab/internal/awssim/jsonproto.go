package awssim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The AWS JSON 1.1 protocol, which Secrets Manager speaks: a POST to /
// whose X-Amz-Target header names "<prefix>.<Action>" and whose body is
// the input as JSON. Answers are JSON; errors are a status with
// {"__type": code, "Message": text}, which the SDK reads (it takes the
// code from __type, dropping any namespace, and the message from
// message or Message).

const jsonContentType = "application/x-amz-json-1.1"

// jsonRequestLimit bounds a request body: well above the largest
// CreateSecret (65,536 bytes of value, base64 in JSON, and metadata).
const jsonRequestLimit = 1 << 20

type jsonHandler func(s *Simulator, body []byte, region string) (any, *apiError)

// jsonServices maps an X-Amz-Target prefix to its service's name in
// Calls() and faults, and its actions.
var jsonServices = map[string]struct {
	service string
	actions map[string]jsonHandler
}{
	"secretsmanager": {"secretsmanager", secretsActions},
}

// serveJSON answers a request of the JSON protocol.
func (s *Simulator) serveJSON(w http.ResponseWriter, r *http.Request, target string) {
	reqID := requestID()
	prefix, action, _ := strings.Cut(target, ".")
	svc, ok := jsonServices[prefix]
	if !ok || r.Method != http.MethodPost {
		writeJSONError(w, reqID, badRequest("UnknownOperationException", "Unknown operation %s", target))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, jsonRequestLimit+1))
	if err != nil {
		writeJSONError(w, reqID, badRequest("SerializationException", "%v", err))
		return
	}
	region := regionOf(r, s.cfg.Region)

	s.mu.Lock()
	s.calls[svc.service+":"+action]++
	if e := s.injectedFault(svc.service, action); e != nil {
		s.mu.Unlock()
		writeJSONError(w, reqID, e)
		return
	}
	handler := svc.actions[action]
	var (
		out    any
		apiErr *apiError
	)
	switch {
	case handler == nil:
		apiErr = badRequest("UnknownOperationException", "Unknown operation %s", target)
	case len(body) > jsonRequestLimit:
		apiErr = errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Request body is too large")
	default:
		s.advance()
		out, apiErr = handler(s, body, region)
		s.reportHealth()
	}
	callbacks := s.pending
	s.pending = nil
	s.mu.Unlock()

	for _, cb := range callbacks {
		cb()
	}
	if apiErr != nil {
		writeJSONError(w, reqID, apiErr)
		return
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("X-Amzn-RequestId", reqID)
	_ = json.NewEncoder(w).Encode(out)
}

// decodeInput reads a request body into in; an empty body is an empty
// input, as the SDK sends "{}" for one.
func decodeInput(body []byte, in any) *apiError {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		return badRequest("SerializationException", "The request body is not the operation's input: %v", err)
	}
	return nil
}

func writeJSONError(w http.ResponseWriter, requestID string, e *apiError) {
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(struct {
		Type    string `json:"__type"`
		Message string `json:"Message"`
	}{e.code, e.message})
}

// epochTime is a timestamp as the JSON protocol writes it: seconds since
// the epoch, with a fraction.
type epochTime time.Time

func (t epochTime) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(time.Time(t).UnixMilli())/1000)), nil
}

// epochPtr is nil for the zero time, which the answer then leaves out.
func epochPtr(t time.Time) *epochTime {
	if t.IsZero() {
		return nil
	}
	e := epochTime(t)
	return &e
}

// validationError is the message of the model's constraint checks, as
// every AWS JSON service words it.
func validationError(format string, args ...any) *apiError {
	return badRequest("ValidationException", "1 validation error detected: "+format, args...)
}
