package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/platform"
)

// TestRedactCutsASecretFromAnyOnePart: a secret that appears in only one
// part of an APIError (its op, its message, a field's name or a field's
// message) is cut out all the same, whether the APIError is returned bare
// or wrapped in syncd's own context. A bare one stays an *APIError (callers
// type-assert it); a wrapped one keeps the context text around it.
func TestRedactCutsASecretFromAnyOnePart(t *testing.T) {
	const secret = "hush-hush"
	parts := []struct {
		name string
		err  platform.APIError
	}{
		{"op", platform.APIError{Platform: "make", Op: "GET /x/" + secret, Status: 404, Kind: platform.KindNotFound, Message: "not found"}},
		{"message", platform.APIError{Platform: "make", Op: "PUT /x", Status: 400, Kind: platform.KindInvalid, Message: "bad " + secret}},
		{"field name", platform.APIError{Platform: "make", Op: "PUT /x", Status: 422, Kind: platform.KindInvalid, Message: "invalid",
			Fields: map[string][]string{secret: {"is wrong"}}}},
		{"field message", platform.APIError{Platform: "make", Op: "PUT /x", Status: 422, Kind: platform.KindInvalid, Message: "invalid",
			Fields: map[string][]string{"v": {"ok", secret + " is wrong"}}}},
	}
	for _, p := range parts {
		t.Run(p.name+"/bare", func(t *testing.T) {
			in := p.err
			got := Redact(&in, []string{secret})
			ae, ok := got.(*platform.APIError)
			if !ok {
				t.Fatalf("Redact returned %T, want *platform.APIError", got)
			}
			checkRedacted(t, ae, secret, p.err)
		})
		t.Run(p.name+"/wrapped", func(t *testing.T) {
			in := p.err
			got := Redact(fmt.Errorf("make: set common: %w", &in), []string{secret})
			if !strings.HasPrefix(got.Error(), "make: set common: make: ") {
				t.Errorf("Redact(wrapped) = %q, want syncd's context kept", got)
			}
			var ae *platform.APIError
			if !errors.As(got, &ae) {
				t.Fatalf("Redact(wrapped) = %T, the APIError is no longer reachable", got)
			}
			checkRedacted(t, ae, secret, p.err)
			if strings.Contains(got.Error(), secret) {
				t.Errorf("Redact(wrapped) = %q, keeps the secret", got)
			}
		})
	}
}

// TestRedactCutsASecretFromTheWrappingText: a secret in the text around a
// clean APIError (syncd's own context) is cut out too, and the APIError
// stays reachable.
func TestRedactCutsASecretFromTheWrappingText(t *testing.T) {
	api := &platform.APIError{Platform: "make", Op: "PUT /x", Status: 400, Kind: platform.KindInvalid, Message: "bad value"}
	got := Redact(fmt.Errorf("make: set hush-hush: %w", api), []string{"hush-hush"})
	if strings.Contains(got.Error(), "hush-hush") {
		t.Errorf("Redact = %q, keeps the secret", got)
	}
	if platform.KindOf(got) != platform.KindInvalid {
		t.Errorf("kind = %v, want invalid", platform.KindOf(got))
	}
}

func checkRedacted(t *testing.T, ae *platform.APIError, secret string, orig platform.APIError) {
	t.Helper()
	text := ae.Op + " " + ae.Message + " " + fmt.Sprint(ae.Fields) + " " + ae.Error()
	if strings.Contains(text, secret) {
		t.Errorf("redacted APIError keeps the secret: %q", text)
	}
	if ae.Kind != orig.Kind || ae.Status != orig.Status || ae.Platform != orig.Platform {
		t.Errorf("redacted APIError is %v/%d/%s, want %v/%d/%s", ae.Kind, ae.Status, ae.Platform, orig.Kind, orig.Status, orig.Platform)
	}
}

// TestRedactReturnsAnErrorWithoutSecretsAsIs: an error that holds no
// secret comes back unchanged, so that errors.Is and errors.As still find
// everything it wraps (a deadline, the very APIError a caller compares
// with).
func TestRedactReturnsAnErrorWithoutSecretsAsIs(t *testing.T) {
	api := &platform.APIError{Platform: "make", Op: "PUT /x", Status: 400, Kind: platform.KindInvalid,
		Message: "bad value", Fields: map[string][]string{"v": {"is wrong"}}}
	tests := []struct {
		name string
		err  error
	}{
		{"bare api error", api},
		{"wrapped api error", fmt.Errorf("make: set common: %w", api)},
		{"api error and a deadline", fmt.Errorf("make: %w (%w)", api, context.DeadlineExceeded)},
		{"plain", fmt.Errorf("make: read: %w", context.DeadlineExceeded)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.err, []string{"hush-hush"})
			if got != tt.err {
				t.Fatalf("Redact = %#v, want the error itself", got)
			}
		})
	}
}
