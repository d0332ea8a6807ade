package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/syncd/syncd/internal/syncd"
)

// TestRedirectsAreAnswersNotFollowed: a base URL that redirects (http for
// https, a moved host) is a wrong one. Following would turn a POST into a
// GET (301, 302, 303) or send a write twice (307, 308), and send the
// credentials on to wherever the server points. Every redirect comes back
// as the answer, over wire and over a caller's http.Client alike: the
// server sees one request, the target none, and Location tells where it
// pointed, without credentials, query or our secrets.
func TestRedirectsAreAnswersNotFollowed(t *testing.T) {
	var target atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target.Add(1)
		io.WriteString(w, `{"data": []}`)
	}))
	t.Cleanup(elsewhere.Close)
	for _, status := range []int{300, 301, 302, 303, 307, 308} {
		for _, via := range []string{"wire", "http.Client"} {
			t.Run(http.StatusText(status)+" via "+via, func(t *testing.T) {
				var hits atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					hits.Add(1)
					loc := strings.Replace(elsewhere.URL, "http://", "http://user:pw@", 1) + "/api/" + "very-secret-token-123" + "?key=" + "very-secret-token-123" + "#frag"
					http.Redirect(w, r, loc, status)
				}))
				t.Cleanup(srv.Close)
				c := newClient(t, srv.URL, func(cfg *Config) {
					if via == "http.Client" {
						cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport}
					}
				})
				resp := c.Do(context.Background(), Request{Method: http.MethodPost, Path: "/connectors", Body: []byte(`{}`), ContentType: "application/json"})
				if resp.Status != status || resp.Err != nil || !resp.Sent {
					t.Fatalf("status %d, err %v, sent %v; want the %d itself", resp.Status, resp.Err, resp.Sent, status)
				}
				if hits.Load() != 1 || target.Load() != 0 {
					t.Fatalf("server saw %d requests, redirect target %d; want 1 and 0", hits.Load(), target.Load())
				}
				want := elsewhere.URL + "/api/" + syncd.Redacted
				if resp.Location != want {
					t.Errorf("Location %q, want %q", resp.Location, want)
				}
				msg, amb, ok := resp.Redirected("POST /connectors")
				if !ok || !strings.Contains(msg, "redirects to "+want) || strings.Contains(msg, "very-secret-token-123") {
					t.Errorf("Redirected() = %q, %v", msg, ok)
				}
				// A POST answered 301-303 may have been done (303 is how a
				// server that did it points at the result); 307 and 308
				// ask for the same request elsewhere: not done.
				if wantAmb := status < 307; amb != wantAmb {
					t.Errorf("a write answered %d: ambiguous %v, want %v", status, amb, wantAmb)
				}
			})
		}
	}
}

// TestRedirectLocationIsBounded: a Location that is relative resolves
// against the request; one that is empty or unparsable says "elsewhere";
// one that holds a short secret (which cannot be cut out) is withheld.
func TestRedirectLocationIsBounded(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", func(cfg *Config) { cfg.Authorization = "Token ab" })
	base, _ := http.NewRequest(http.MethodGet, "http://api.example.com/api/v2/sdk/apps", nil)
	for _, tc := range []struct{ loc, want string }{
		{"/login", "http://api.example.com/login"},
		{"https://core.example.com/api/v1/", "https://core.example.com/api/v1/"},
		{"", ""},
		{"::not a url", ""},
		{"https://x.example.com/ab", "[WITHHELD]"},
	} {
		got := c.location(base.URL, tc.loc)
		if tc.want == "[WITHHELD]" {
			if strings.Contains(got, "ab") {
				t.Errorf("location(%q) = %q shows the short secret", tc.loc, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("location(%q) = %q, want %q", tc.loc, got, tc.want)
		}
	}
	if m, amb, _ := (&Response{Status: 302}).Redirected("GET /x"); !strings.Contains(m, "redirects elsewhere") || amb {
		t.Errorf("no Location: %q, ambiguous %v (a read did nothing)", m, amb)
	}
	for _, s := range []int{299, 400, 0} {
		if _, _, ok := (&Response{Status: s}).Redirected("POST /x"); ok {
			t.Errorf("%d taken as a redirect", s)
		}
	}
	for _, s := range []int{300, 399} {
		if _, _, ok := (&Response{Status: s}).Redirected("GET /x"); !ok {
			t.Errorf("%d not taken as a redirect", s)
		}
	}
}

// TestRedirectLocationNeverShowsASecret: however the server spells our
// token in a redirect's target (percent-encoded, whole or in part, with
// either case of hex), it never reaches the message.
func TestRedirectLocationNeverShowsASecret(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", nil) // Authorization: Token very-secret-token-123
	base, _ := http.NewRequest(http.MethodGet, "http://api.example.com/api/v2/x", nil)
	for _, loc := range []string{
		"https://elsewhere.example/cb/%76%65%72%79-secret-token-123",
		"https://elsewhere.example/cb/%76%65%72%79%2D%73%65%63%72%65%74%2D%74%6F%6B%65%6E%2D123",
		"https://elsewhere.example/cb/%76%65%72%79%2d%73ecret-token-123/more",
		"https://elsewhere.example/very-secret-token-123",
		"https://very-secret-token-123.example/x",
	} {
		got := c.location(base.URL, loc)
		plain, err := url.PathUnescape(got)
		if err != nil {
			plain = got
		}
		if strings.Contains(strings.ToLower(plain), "very-secret-token-123") {
			t.Errorf("location(%q) = %q shows the token", loc, got)
		}
	}
}

// TestBaseURLCredentialsAreBasicAuth: credentials in the base URL go as
// http.Client sent them, Basic, when no Authorization is configured; a
// configured one wins; and they are secrets to the scrubber either way.
func TestBaseURLCredentialsAreBasicAuth(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		w.WriteHeader(400)
		io.WriteString(w, `{"message": "bad: user pass-word"}`)
	}))
	t.Cleanup(srv.Close)
	base := strings.Replace(srv.URL, "http://", "http://user:pass-word@", 1)
	c := newClient(t, base, func(cfg *Config) { cfg.Authorization = "" })
	resp := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"})
	if resp.Status != 400 || got.Load() != "Basic dXNlcjpwYXNzLXdvcmQ=" {
		t.Fatalf("status %d, Authorization %q; want Basic from the URL", resp.Status, got.Load())
	}
	if strings.Contains(string(resp.Body), "pass-word") {
		t.Errorf("the URL's password came back in an error body: %s", resp.Body)
	}
	c = newClient(t, base, nil)
	c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"})
	if got.Load() != testAuth {
		t.Errorf("Authorization %q, want the configured one", got.Load())
	}
}
