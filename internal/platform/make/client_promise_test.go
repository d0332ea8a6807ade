package make

import (
	"errors"
	"net/http"
	"strings"
	"testing"


	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
)

// TestNewClientSettings: a base URL wins over a zone, a zone is looked up
// (case and spaces aside), one of them and a token are required, and zero
// or negative limits take the defaults while set ones are kept.
func TestNewClientSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		wantErr  string
		wantBase string
		wantRPM  int
		wantConc int
	}{
		{name: "nothing", cfg: Config{Token: "t"}, wantErr: "a base URL or a zone is required"},
		{name: "unknown zone", cfg: Config{Zone: "mars1", Token: "t"}, wantErr: `unknown zone "mars1"`},
		{name: "no token", cfg: Config{Zone: "eu1"}, wantErr: "a token is required"},
		{name: "zone", cfg: Config{Zone: " US2 ", Token: "t"}, wantBase: "https://us2.make.com/api/v2",
			wantRPM: DefaultRequestsPerMinute, wantConc: transport.DefaultMaxConcurrency},
		{name: "URL wins over zone", cfg: Config{BaseURL: "http://127.0.0.1:1/api/v2", Zone: "mars1", Token: "t", RequestsPerMinute: -1, MaxConcurrency: -1},
			wantBase: "http://127.0.0.1:1/api/v2", wantRPM: DefaultRequestsPerMinute, wantConc: transport.DefaultMaxConcurrency},
		{name: "limits kept", cfg: Config{Zone: "eu1", Token: "t", RequestsPerMinute: 1, MaxConcurrency: 1},
			wantBase: "https://eu1.make.com/api/v2", wantRPM: 1, wantConc: 1},
		{name: "bad URL", cfg: Config{BaseURL: "eu1.make.com", Token: "t"}, wantErr: "not an absolute http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Transport().BaseURL(); got != tc.wantBase {
				t.Errorf("base URL = %q, want %q", got, tc.wantBase)
			}
			if _, limit := c.Transport().Allowance(); limit != tc.wantRPM {
				t.Errorf("requests per minute = %d, want %d", limit, tc.wantRPM)
			}
			if c.concurrency != tc.wantConc {
				t.Errorf("concurrency = %d, want %d", c.concurrency, tc.wantConc)
			}
		})
	}
}

// answerServer answers every request with status and body.
func answerServer(t *testing.T, status int, body string) *Client {
	t.Helper()
	url := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	return newTestClient(t, url)
}

func apiErr(t *testing.T, err error) *platform.APIError {
	t.Helper()
	var ae *platform.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an APIError", err, err)
	}
	return ae
}
