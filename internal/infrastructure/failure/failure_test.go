package failure

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestPermanent(t *testing.T) {
	err := Permanent("ImageNotFound", "image %s does not exist: %w", "ami-1", io.EOF)
	if err.Error() != "image ami-1 does not exist: EOF" {
		t.Errorf("Error() = %q", err.Error())
	}
	if !errors.Is(err, io.EOF) {
		t.Error("the wrapped error is not in the chain")
	}
	wrapped := fmt.Errorf("resolving the image: %w", err)
	if p := As(wrapped); p == nil || p.Reason != "ImageNotFound" || p != err {
		t.Errorf("As(wrapped) = %+v", p)
	}
	if As(nil) != nil || As(io.EOF) != nil {
		t.Error("nil or a plain error is permanent")
	}
}
