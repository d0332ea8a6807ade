package transport

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// Bodies of a declared length and of none (chunked) come back whole, and
// reading one to its end returns the connection to the pool.
func TestDoReadsBodiesAndReusesConnections(t *testing.T) {
	large := strings.Repeat("x", 70_000)
	tests := []struct {
		name    string
		body    string
		chunked bool
	}{
		{"empty", "", false},
		{"small", `{"ok":true}`, false},
		{"large", large, false},
		{"chunked small", `{"ok":true}`, true},
		{"chunked large", large, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.chunked {
					w.(http.Flusher).Flush() // headers out before the body: no Content-Length
				} else {
					w.Header().Set("Content-Length", strconv.Itoa(len(tt.body)))
				}
				io.WriteString(w, tt.body)
			}))
			var conns atomic.Int64
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			c := newClient(t, srv.URL, nil)
			for range 4 {
				resp := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"})
				if resp.Err != nil {
					t.Fatalf("Do: %v", resp.Err)
				}
				if string(resp.Body) != tt.body {
					t.Fatalf("body: got %d bytes, want %d", len(resp.Body), len(tt.body))
				}
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("4 sequential requests opened %d connections, want 1", n)
			}
		})
	}
}

// A body shorter than its declared length is an error, as io.ReadAll says.
func TestReadBodyShort(t *testing.T) {
	tests := []struct {
		name string
		body string
		n    int64
		want string
		err  error
	}{
		{"exact", "abc", 3, "abc", nil},
		{"unknown length", "abc", -1, "abc", nil},
		{"short", "ab", 3, "ab", io.ErrUnexpectedEOF},
		{"nothing came", "", 3, "", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := readBody(strings.NewReader(tt.body), tt.n)
			if string(b) != tt.want || err != tt.err {
				t.Errorf("readBody = %q, %v; want %q, %v", b, err, tt.want, tt.err)
			}
		})
	}
}
