package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
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

// TestReadBodyOfUnknownLengthOwnsItsBytes: bodies without a length share
// a buffer while they are read; what readBody returns is the caller's own,
// unchanged by the next read; a buffer grown past maxPooledBody is not
// kept; a read error keeps what came before it.
func TestReadBodyOfUnknownLengthOwnsItsBytes(t *testing.T) {
	first, err := readBody(strings.NewReader("first body"), -1)
	if err != nil {
		t.Fatal(err)
	}
	second, err := readBody(strings.NewReader("2nd"), -1)
	if err != nil || string(first) != "first body" || string(second) != "2nd" {
		t.Fatalf("got %q and %q, %v", first, second, err)
	}
	if cap(second) > 2*len(second)+8 {
		t.Errorf("a 3-byte body holds %d bytes", cap(second))
	}
	empty, err := readBody(strings.NewReader(""), -1)
	if err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("empty body = %#v, %v; want non-nil and empty, as io.ReadAll", empty, err)
	}
	big := strings.Repeat("y", maxPooledBody+1)
	if b, err := readBody(strings.NewReader(big), -1); err != nil || len(b) != len(big) {
		t.Fatalf("big body: %d bytes, %v", len(b), err)
	}
	for range 4 { // a pool may drop entries at will: look a few times
		buf := bodyBufs.Get().(*bytes.Buffer)
		if buf.Cap() > maxPooledBody {
			t.Fatalf("a %d-byte buffer was kept", buf.Cap())
		}
		defer bodyBufs.Put(buf)
	}
	boom := errors.New("boom")
	b, err := readBody(io.MultiReader(strings.NewReader("part"), iotest.ErrReader(boom)), -1)
	if string(b) != "part" || !errors.Is(err, boom) {
		t.Errorf("failed read = %q, %v", b, err)
	}
}
