package dosim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// apiError is DigitalOcean's error answer: a status and the body's id
// and message; request_id is added when it is written.
type apiError struct {
	status      int
	ID, Message string
}

func errorf(status int, id, format string, args ...any) *apiError {
	return &apiError{status: status, ID: id, Message: fmt.Sprintf(format, args...)}
}

func notFound() *apiError {
	return errorf(http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
}

func unprocessable(format string, args ...any) *apiError {
	return errorf(http.StatusUnprocessableEntity, "unprocessable_entity", format, args...)
}

func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "bad_request", format, args...)
}

func forbidden(format string, args ...any) *apiError {
	return errorf(http.StatusForbidden, "forbidden", format, args...)
}

func tooManyRequests() *apiError {
	return errorf(http.StatusTooManyRequests, "too_many_requests", "API rate limit exceeded.")
}

func serverError() *apiError {
	return errorf(http.StatusInternalServerError, "server_error", "Server was unable to give you a response.")
}

func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	writeJSON(w, e.status, struct {
		ID        string `json:"id"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	}{e.ID, e.Message, requestID})
}

// encodeBody encodes an answer's body; nil stays nil (204).
func encodeBody(body any) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	data, err := json.Marshal(body)
	return append(data, '\n'), err
}

// writeBody writes an encoded body, or none for nil.
func writeBody(w http.ResponseWriter, status int, data []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if data != nil {
		_, _ = w.Write(data)
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := encodeBody(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeBody(w, status, data)
}

func errorAs(err error, target any) bool { return errors.As(err, target) }
