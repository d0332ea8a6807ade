package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// strayServer answers its first request, over all connections, with
// first, and every other with the request's path.
func strayServer(t *testing.T, first func(net.Conn)) string {
	var n atomic.Int64
	return rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if n.Add(1) == 1 {
				first(c)
				continue
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(req.URL.Path), req.URL.Path)
		}
	})
}

// TestWireAttackStaleBytesAreNotTheNextAnswer: a server that sends more
// than its answer (a second response, a body longer than its
// Content-Length, a body after a 204) leaves bytes in the connection's
// buffer; the next request on that connection must not take them as its
// answer. net/http closes such a connection ("Unsolicited response").
func TestWireAttackStaleBytesAreNotTheNextAnswer(t *testing.T) {
	u := strayServer(t, func(c net.Conn) {
		// One write: the answer and a stale one behind it.
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"+
			"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale")
	})
	c := &http.Client{Transport: newTestWire(4)}
	if got := wireGet(t, c, u+"/a"); got != "first" {
		t.Fatalf("first answer %q", got)
	}
	if got := wireGet(t, c, u+"/b"); got != "/b" {
		t.Errorf("the second GET got %q, want its own answer %q", got, "/b")
	}
}

// TestWireAttackStaleBytesLater: as above, but the extra answer arrives a
// moment after the first, while the connection rests in the pool: the
// peek before its reuse finds it.
func TestWireAttackStaleBytesLater(t *testing.T) {
	u := strayServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
		time.Sleep(5 * time.Millisecond)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale")
	})
	c := &http.Client{Transport: newTestWire(4)}
	if got := wireGet(t, c, u+"/a"); got != "first" {
		t.Fatalf("first answer %q", got)
	}
	time.Sleep(20 * time.Millisecond)
	if got := wireGet(t, c, u+"/b"); got != "/b" {
		t.Errorf("the second GET got %q, want its own answer %q", got, "/b")
	}
}

// TestWireAttackCanceledRequestIsNotSent: a request whose context has
// already ended is not sent, as net/http's Transport does not send it,
// even when an idle connection is at hand. A POST sent after the caller
// gave up is a write the caller believes it never made.
func TestWireAttackCanceledRequestIsNotSent(t *testing.T) {
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	c := &http.Client{Transport: newTestWire(4)}
	for range 20 {
		wireGet(t, c, srv.URL) // an idle connection waits in the pool
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(`{}`))
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatal("a POST with an ended context succeeded")
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := posts.Load(); n != 0 {
		t.Errorf("the server got %d of 20 POSTs whose context had ended before Do", n)
	}
}

// closeCounter is a request body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closed atomic.Int64
}

func (b *closeCounter) Close() error { b.closed.Add(1); return nil }

// TestWireAttackClosesTheBodyOnFailure: RoundTrip must close the request
// body even when it fails before writing (http.RoundTripper's contract;
// http.Client relies on it, and net/http's Transport does it).
func TestWireAttackClosesTheBodyOnFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close() // nothing listens: the dial is refused
	body := &closeCounter{Reader: strings.NewReader(`{}`)}
	req, _ := http.NewRequest(http.MethodPost, dead, body)
	if resp, err := newTestWire(1).RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatal("a POST to a closed port succeeded")
	}
	if body.closed.Load() == 0 {
		t.Error("a failed dial left the request body open")
	}
}

// TestWireAttackConcurrentAnswersMatch: many goroutines, some reading
// bodies to the end, some closing them early, some cancelling: every
// answer is its own request's, and nothing leaks.
func TestWireAttackConcurrentAnswersMatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("slow") != "" {
			time.Sleep(time.Millisecond)
		}
		fmt.Fprintf(w, "%s%s", r.URL.Path, strings.Repeat(".", 3000))
	}))
	defer srv.Close()
	w := newTestWire(4)
	c := &http.Client{Transport: w}
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	var bad atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			for i := range 150 {
				path := fmt.Sprintf("/%d/%d", g, i)
				ctx, cancel := context.WithCancel(context.Background())
				q := ""
				if i%7 == 0 {
					q = "?slow=1"
					time.AfterFunc(500*time.Microsecond, cancel)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path+q, nil)
				resp, err := c.Do(req)
				if err != nil {
					cancel()
					continue
				}
				switch i % 3 {
				case 0:
					resp.Body.Close()
				default:
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && !strings.HasPrefix(string(b), path+".") {
						bad.Add(1)
					}
				}
				cancel()
			}
		})
	}
	wg.Wait()
	if n := bad.Load(); n != 0 {
		t.Errorf("%d answers belonged to another request", n)
	}
	if n := idleConns(w); n > 4 {
		t.Errorf("%d idle connections, more than maxIdle", n)
	}
	c.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}

// TestWireAttackWriteAfterAnImmediateClose: a server that closes each
// connection right after its answer, without Connection: close. net/http's
// reader goroutine sees the close as soon as the body ends and drops the
// connection, so the POST that follows goes on a new one. wire does not
// look (it peeked only after a rest): the POST went on the dead connection
// and failed as written (an ambiguous write for the caller). Fixed: every
// reuse peeks.
func TestWireAttackWriteAfterAnImmediateClose(t *testing.T) {
	u := rawServer(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	c := &http.Client{Transport: newTestWire(4)}
	failed := 0
	for range 20 {
		wireGet(t, c, u)
		time.Sleep(2 * time.Millisecond) // the FIN is in
		resp, err := c.Post(u, "application/json", strings.NewReader(`{}`))
		if err != nil {
			failed++
			continue
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if failed > 0 {
		t.Errorf("%d of 20 POSTs failed on a connection the server had closed before they were sent", failed)
	}
}
