package tflogr

import (
	"context"
	"testing"
)

// client-go's request and response bodies (verbosity 8 and up) and
// request details (6 and 7) never reach Terraform's log: they hold
// Secrets.
func TestBodiesAreNotLogged(t *testing.T) {
	l := New(context.Background())
	for v := 0; v <= 4; v++ {
		if !l.V(v).Enabled() {
			t.Errorf("verbosity %d is not logged", v)
		}
	}
	for _, v := range []int{6, 7, 8, 9, 10} {
		if l.V(v).Enabled() {
			t.Errorf("verbosity %d is logged", v)
		}
	}
}
