// Package failure is the error of a cloud request that no retry can
// clear. Each cloud package tells its cloud's errors apart (its own
// AsPermanent, from error codes or HTTP statuses) and returns this one
// type, so that the reconcilers report every cloud's permanent failures
// alike: with a condition reason that says so, and retried less often.
package failure

import (
	"errors"
	"fmt"
)

// PermanentError is a failure that retrying the same request cannot
// clear: the spec, the image or the account has to change first.
type PermanentError struct {
	// Reason is a condition reason, such as ImageNotFound; empty leaves it
	// to the caller, who knows which step failed.
	Reason string
	Err    error
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent returns a PermanentError with reason (may be empty) and the
// message that format and args make, as fmt.Errorf does.
func Permanent(reason, format string, args ...any) error {
	return &PermanentError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// As returns the PermanentError in err's chain, or nil.
func As(err error) *PermanentError {
	var p *PermanentError
	if errors.As(err, &p) {
		return p
	}
	return nil
}
