package make

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/platform"
)

func TestPreflight(t *testing.T) {
	env := startEmulator(t)
	root := strings.TrimSuffix(env.base, "/api/v2")
	tests := []struct {
		name, base, token string
		status            int
		want              []string // in the error; nil: success
	}{
		{"right", env.base, emuToken, 0, nil},
		{"no /api/v2", root, emuToken, 404, []string{root + "/sdk/apps", "HTTP 404", "SYNCD_MAKE_URL", "/api/v2"}},
		{"wrong token", env.base, "nope", 401, []string{env.base + "/sdk/apps", "HTTP 401", "token was rejected", "SYNCD_MAKE_TOKEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{BaseURL: tt.base, Token: tt.token, RequestsPerMinute: 600000, Burst: 1000, Retry: testRetry})
			if err != nil {
				t.Fatal(err)
			}
			before := c.Stats()
			err = c.Preflight(context.Background())
			if n := c.Stats().Sub(before).Total(); n != 1 {
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
			if strings.Contains(err.Error(), tt.token) && tt.token != emuToken {
				t.Errorf("error holds the token: %v", err)
			}
		})
	}
}

// TestListAllMissingApp: import of an app whose list answers 404 fails,
// naming spec.app, instead of importing nothing.
func TestListAllMissingApp(t *testing.T) {
	env := startEmulator(t)
	if _, err := env.emu.Seed(emulator.Seed{Make: emulator.SeedMake{Apps: map[string]emulator.SeedApp{"ghost": {Absent: true}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.client.ListAll(context.Background(), "ghost"); err == nil || !strings.Contains(err.Error(), "check spec.app") {
		t.Errorf("ListAll of a missing app: %v", err)
	}
}
