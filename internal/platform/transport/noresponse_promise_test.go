package transport

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
)

// TestNoResponseIsAmbiguousOnlyForASentWrite: a request that got no answer
// is a transient failure; it is ambiguous (it may have been applied) only
// when it was a write and had been sent in full. A read is never
// ambiguous, and a write that never left is not either. The caller's own
// cancellation stays a cancellation, not a platform failure.
func TestNoResponseIsAmbiguousOnlyForASentWrite(t *testing.T) {
	reset := errors.New("connection reset by peer")
	tests := []struct {
		name string
		op   string
		resp Response
		want *platform.APIError // nil: not an APIError
	}{
		{"sent write", "POST /sdk/apps", Response{Err: reset, Sent: true, Attempts: 1},
			&platform.APIError{Platform: "p", Op: "POST /sdk/apps", Kind: platform.KindTransient, Message: reset.Error(), Ambiguous: true}},
		{"sent delete", "DELETE /sdk/apps/x", Response{Err: reset, Sent: true, Attempts: 1},
			&platform.APIError{Platform: "p", Op: "DELETE /sdk/apps/x", Kind: platform.KindTransient, Message: reset.Error(), Ambiguous: true}},
		{"write never sent", "PUT /sdk/apps/x", Response{Err: reset, Attempts: 1},
			&platform.APIError{Platform: "p", Op: "PUT /sdk/apps/x", Kind: platform.KindTransient, Message: reset.Error()}},
		{"sent read", "GET /sdk/apps", Response{Err: reset, Sent: true, Attempts: 1},
			&platform.APIError{Platform: "p", Op: "GET /sdk/apps", Kind: platform.KindTransient, Message: reset.Error()}},
		{"sent head", "HEAD /sdk/apps", Response{Err: reset, Sent: true, Attempts: 1},
			&platform.APIError{Platform: "p", Op: "HEAD /sdk/apps", Kind: platform.KindTransient, Message: reset.Error()}},
		{"retried read says how often", "GET /sdk/apps", Response{Err: reset, Sent: true, Attempts: 3},
			&platform.APIError{Platform: "p", Op: "GET /sdk/apps", Kind: platform.KindTransient, Message: reset.Error() + " (after 3 attempts)"}},
		{"no error recorded", "GET /sdk/apps", Response{Attempts: 1},
			&platform.APIError{Platform: "p", Op: "GET /sdk/apps", Kind: platform.KindTransient, Message: "no response"}},
		{"caller canceled", "POST /sdk/apps", Response{Err: context.Canceled, Canceled: true, Sent: true, Attempts: 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.resp.NoResponse("p", tt.op)
			var ae *platform.APIError
			if !errors.As(err, &ae) {
				ae = nil
			}
			if diff := cmp.Diff(tt.want, ae); diff != "" {
				t.Errorf("NoResponse (-want +got):\n%s", diff)
			}
			if tt.want == nil && !errors.Is(err, context.Canceled) {
				t.Errorf("NoResponse = %v, want the caller's cancellation", err)
			}
		})
	}
}
