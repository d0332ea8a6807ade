package make

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/platform"
)

// TestPreflightTellsWhatIsWrong: every answer but a list is a
// PreflightError whose problem says what kind of failure it was: a 5xx is
// "not answering normally" (retry later), a 3xx is a redirect syncd does
// not follow, no answer names the network error, and a caller that gave up gets
// its context's error, not a verdict on the URL.
func TestPreflightTellsWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		problem string
	}{
		{"500", 500, "the API is not answering normally"},
		{"503", 503, "the API is not answering normally"},
		{"300", 300, "the server redirects elsewhere; syncd does not follow redirects"},
		{"499", 499, "this does not answer like"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				w.Write([]byte(`{"message": "x"}`))
			}))
			t.Cleanup(srv.Close)
			err := newPreflightClient(t, srv.URL).Preflight(context.Background())
			var pe *platform.PreflightError
			if !errors.As(err, &pe) || pe.Status != tc.status || !strings.HasPrefix(pe.Problem, tc.problem) {
				t.Fatalf("preflight = %v, want a PreflightError with status %d and problem %q", err, tc.status, tc.problem)
			}
		})
	}
	t.Run("no answer", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close() // nothing listens there any more
		err := newPreflightClient(t, url).Preflight(context.Background())
		var pe *platform.PreflightError
		if !errors.As(err, &pe) || pe.Status != 0 || !strings.HasPrefix(pe.Problem, "no answer: ") {
			t.Fatalf("preflight = %v, want a PreflightError saying no answer and why", err)
		}
	})
	t.Run("caller gave up", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := newPreflightClient(t, srv.URL).Preflight(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("preflight = %v, want the context's error", err)
		}
		var pe *platform.PreflightError
		if errors.As(err, &pe) {
			t.Fatalf("preflight = %v: a verdict on the URL although the caller gave up", err)
		}
	})
}

func newPreflightClient(t *testing.T, url string) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: url + "/api/v2", Token: fakeToken, RequestsPerMinute: 600000, Retry: testRetry})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
