package transport

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/platform"
)

func TestRedact(t *testing.T) {
	secrets := []string{"hush-hush"}
	api := &platform.APIError{Platform: "make", Op: "PUT /x", Status: 400, Kind: platform.KindInvalid,
		Message: "bad value hush-hush", Fields: map[string][]string{"v": {"hush-hush is wrong"}}}
	tests := []struct {
		name string
		err  error
		kind platform.ErrorKind
	}{
		{"api error", api, platform.KindInvalid},
		{"wrapped api error", fmt.Errorf("make: set common: %w", api), platform.KindInvalid},
		{"plain", errors.New("x hush-hush"), platform.KindTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.err, secrets)
			if strings.Contains(got.Error(), "hush-hush") {
				t.Fatalf("redacted error still has the secret: %v", got)
			}
			if platform.KindOf(got) != tt.kind {
				t.Fatalf("kind = %v, want %v", platform.KindOf(got), tt.kind)
			}
			var ae *platform.APIError
			if errors.As(got, &ae) {
				for _, m := range ae.Fields {
					if strings.Contains(strings.Join(m, " "), "hush-hush") {
						t.Fatalf("fields keep the secret: %v", ae.Fields)
					}
				}
			}
		})
	}
	if api.Message != "bad value hush-hush" {
		t.Fatal("Redact modified its input")
	}
}
