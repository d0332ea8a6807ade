package transport

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// rawHeads is a server that records each request head byte for byte and
// answers 200 with an empty body.
func rawHeads(t *testing.T) (addr string, heads func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var got []string
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					var head bytes.Buffer
					for {
						line, err := br.ReadString('\n')
						head.WriteString(line)
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
					}
					if req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head.String()))); err == nil && req.ContentLength > 0 {
						io.CopyN(io.Discard, br, req.ContentLength)
					}
					mu.Lock()
					got = append(got, head.String())
					mu.Unlock()
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
				}
			}()
		}
	}()
	return ln.Addr().String(), func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
}

// TestGetsWriteWhatRequestWriteWrites: a GET goes out as its request line
// and the Client's prepared head, and those bytes are exactly what
// net/http's Request.Write would have sent for it: the same Host, the
// same User-Agent, the same headers in the same order, trimmed the same
// way, the same escaping of path and query. (A value with a line break
// never gets here: New refuses it.)
func TestGetsWriteWhatRequestWriteWrites(t *testing.T) {
	addr, heads := rawHeads(t)
	for _, tc := range []struct {
		name, base string
		header     http.Header
		auth       string
	}{
		{"plain", "http://" + addr, http.Header{"Accept": {"application/json"}}, "Token abc"},
		{"base path", "http://" + addr + "/api/v2/", http.Header{"accept": {"application/json"}, "X-Multi": {"b", "a"}}, "Bearer x"},
		{"padded values", "http://" + addr + "/api", http.Header{"X-Pad": {"\tv ", " padded  "}, "User-Agent": {"syncd-test"}}, " Token t\t"},
		{"no user agent", "http://" + addr, http.Header{"User-Agent": {""}}, "Token abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tc.base, func(cfg *Config) { cfg.Header, cfg.Authorization = tc.header, tc.auth })
			if c.getHead == nil {
				t.Fatal("no prepared head: the test would not test it")
			}
			before := len(heads())
			reqs := []Request{
				{Method: http.MethodGet, Path: "/sdk/apps"},
				{Method: http.MethodGet, Path: "/sdk/apps/connections/a%2Fb/api"},
				{Method: http.MethodGet, Path: "/connectors", Query: url.Values{"page": {"2"}, "include": {"variables,certificate"}, "q": {"a b&c"}}},
				{Method: http.MethodGet, Path: ""},
			}
			for _, r := range reqs {
				if resp := c.Do(context.Background(), r); resp.Status != 200 {
					t.Fatalf("%s: %d %v", r.Op(), resp.Status, resp.Err)
				}
			}
			got := heads()[before:]
			if len(got) != len(reqs) {
				t.Fatalf("server saw %d requests, want %d", len(got), len(reqs))
			}
			for i, r := range reqs {
				u := c.base + r.Path
				if len(r.Query) > 0 {
					u += "?" + r.Query.Encode()
				}
				want, err := http.NewRequest(r.Method, u, nil)
				if err != nil {
					t.Fatal(err)
				}
				want.Header = c.header
				var b bytes.Buffer
				if err := want.Write(&b); err != nil {
					t.Fatal(err)
				}
				if got[i] != b.String() {
					t.Errorf("%s sent\n%q\nRequest.Write sends\n%q", r.Op(), got[i], b.String())
				}
			}
		})
	}
}

// TestOnlyPlainGetsUseThePreparedHead: a request with a body, its own
// headers (a Content-Type), or another method goes by Request.Write; and
// a header Request.Write refuses leaves the Client without a prepared
// head, so that Request.Write refuses each request and says why.
func TestOnlyPlainGetsUseThePreparedHead(t *testing.T) {
	addr, heads := rawHeads(t)
	c := newClient(t, "http://"+addr, nil)
	for _, r := range []Request{
		{Method: http.MethodPost, Path: "/x", Body: []byte(`{}`), ContentType: "application/json"},
		{Method: http.MethodGet, Path: "/x", ContentType: "application/json"},
		{Method: http.MethodDelete, Path: "/x"},
		{Method: http.MethodHead, Path: "/x"},
	} {
		if resp := c.Do(context.Background(), r); resp.Status != 200 {
			t.Fatalf("%s: %d %v", r.Op(), resp.Status, resp.Err)
		}
		got := heads()
		if last := got[len(got)-1]; !strings.HasPrefix(last, r.Method+" /x HTTP/1.1\r\n") ||
			(r.ContentType != "") != strings.Contains(last, "Content-Type: "+r.ContentType+"\r\n") {
			t.Errorf("%s sent %q", r.Op(), last)
		}
	}
}

// TestHeadersHTTPRefusesAreRefusedAtTheStart: a header name or value that
// net/http would refuse on every request (a token read with its line
// break) fails New, naming the header and never the value.
func TestHeadersHTTPRefusesAreRefusedAtTheStart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header http.Header
		auth   string
		want   string
	}{
		{"name with a space", http.Header{"Bad Name": {"x"}}, "Token ok", `"Bad Name" is not a valid HTTP header name`},
		{"empty name", http.Header{"": {"x"}}, "Token ok", `"" is not a valid HTTP header name`},
		{"line break in a value", http.Header{"X-A": {"a\r\nB: c"}}, "Token ok", "the X-A header holds a character HTTP does not allow"},
		{"token with its newline", nil, "Token s3cr3t-value\n", "the token (the Authorization header) holds a character"},
		{"NUL in the token", nil, "Token s3cr3t\x00value", "the token (the Authorization header) holds a character"},
		{"DEL", http.Header{"X-A": {"a\x7f"}}, "Token ok", "the X-A header holds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Platform: "test", BaseURL: "http://127.0.0.1:1", Authorization: tc.auth, Header: tc.header, RequestsPerMinute: 60})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("New: %v; want %q, and no token", err, tc.want)
			}
		})
	}
	if _, err := New(Config{Platform: "test", BaseURL: "http://127.0.0.1:1", Authorization: "Token a\tb ~!#", Header: http.Header{"X-Ok_1": {"v\t w"}}, RequestsPerMinute: 60}); err != nil {
		t.Fatalf("a tab and printable characters refused: %v", err)
	}
	// Every edge of the name's ranges is a token character.
	for _, name := range []string{"azAZ09", "!", "~", "`", "|"} {
		if _, err := New(Config{Platform: "test", BaseURL: "http://127.0.0.1:1", Header: http.Header{name: {"v"}}, RequestsPerMinute: 60}); err != nil {
			t.Errorf("header name %q refused: %v", name, err)
		}
	}
	for _, name := range []string{"a@", "[", "{", "/", ":", "é"} {
		if _, err := New(Config{Platform: "test", BaseURL: "http://127.0.0.1:1", Header: http.Header{name: {"v"}}, RequestsPerMinute: 60}); err == nil {
			t.Errorf("header name %q accepted", name)
		}
	}
}
