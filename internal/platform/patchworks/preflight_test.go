package patchworks

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/platform"
)

func TestPreflight(t *testing.T) {
	env := startEmulator(t)
	tests := []struct {
		name, base, key string
		status          int
		want            []string // in the error; nil: success
	}{
		{"right", env.url, testKey, 0, nil},
		{"right with /api/v1", env.url + "/api/v1", testKey, 0, nil},
		{"a path too many", env.url + "/core", testKey, 404, []string{env.url + "/core/api/v1/connectors", "HTTP 404", "SYNCD_PATCHWORKS_URL"}},
		{"wrong key", env.url, "wrong-key-777", 401, []string{env.url + "/api/v1/connectors", "HTTP 401", "SYNCD_PATCHWORKS_TOKEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{BaseURL: tt.base, Token: tt.key, RequestsPerMinute: 600000, Retry: testRetry})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Preflight(context.Background())
			if n := c.Stats().Total(); n != 1 {
				t.Errorf("preflight sent %d requests, want 1", n)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("preflight: %v", err)
				}
				return
			}
			var pe *platform.PreflightError
			if !errors.As(err, &pe) || pe.Status != tt.status {
				t.Fatalf("preflight: %v, want a PreflightError with status %d", err, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "wrong-key-777") {
				t.Errorf("error holds the key: %v", err)
			}
		})
	}
}
