package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newTestWire is the round tripper New builds, without a proxy.
func newTestWire(maxIdle int) *wire {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil } // no proxy for this host
	return newWire(tr, maxIdle)
}

// countConns counts the connections srv accepts.
func countConns(srv *httptest.Server) *atomic.Int64 {
	var n atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}

func idleConns(w *wire) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, l := range w.idle {
		n += len(l)
	}
	return n
}

func wireGet(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWireReusesItsConnections(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, b)
	}))
	conns := countConns(srv)
	srv.Start()
	defer srv.Close()
	w := newTestWire(4)
	c := &http.Client{Transport: w}
	for i := range 20 {
		if got, want := wireGet(t, c, fmt.Sprintf("%s/get/%d", srv.URL, i)), fmt.Sprintf("GET /get/%d ", i); got != want {
			t.Fatalf("body %q, want %q", got, want)
		}
	}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/put", strings.NewReader(`{"a":1}`))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `PUT /put {"a":1}` {
		t.Errorf("PUT answered %q", b)
	}
	// A connection that rested is peeked, found open, and reused.
	time.Sleep(50 * time.Millisecond)
	wireGet(t, c, srv.URL+"/rested")
	if n := conns.Load(); n != 1 {
		t.Errorf("22 requests one after another opened %d connections, want 1", n)
	}
	if n := idleConns(w); n != 1 {
		t.Errorf("%d idle connections, want 1", n)
	}
	c.CloseIdleConnections()
	if n := idleConns(w); n != 0 {
		t.Errorf("CloseIdleConnections left %d", n)
	}
}

func TestWireKeepsAtMostMaxIdle(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	w := newTestWire(2)
	c := &http.Client{Transport: w}
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { wireGet(t, c, srv.URL) })
	}
	time.Sleep(50 * time.Millisecond) // all five in flight, on five connections
	close(release)
	wg.Wait()
	if n := idleConns(w); n != 2 {
		t.Errorf("%d idle connections, want maxIdle 2", n)
	}
}

func TestWireSpeaksTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %v", r.Proto, r.TLS != nil)
	}))
	srv.EnableHTTP2 = true // the server offers h2; wire asks for HTTP/1.1
	conns := countConns(srv)
	srv.StartTLS()
	defer srv.Close()
	w := newTestWire(4)
	w.tls = srv.Client().Transport.(*http.Transport).TLSClientConfig
	c := &http.Client{Transport: w}
	for range 3 {
		if got := wireGet(t, c, srv.URL); got != "HTTP/1.1 true" {
			t.Fatalf("answer %q", got)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("3 requests opened %d TLS connections, want 1", n)
	}
	// Without the server's roots the certificate is refused.
	bare := newTestWire(1)
	if _, err := (&http.Client{Transport: bare}).Get(srv.URL); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unknown certificate: err = %v", err)
	}
}

// rawServer answers each connection with handle, on plain TCP.
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// closesAfterAnswer answers one request per connection with a keep-alive
// response and then closes the connection without a word, as a server
// does whose idle timeout has passed; it counts the requests it read.
func closesAfterAnswer(requests *atomic.Int64) func(net.Conn) {
	return func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		requests.Add(1)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		time.Sleep(20 * time.Millisecond) // the client has it, and pools the connection
	}
}

// answeredOnce has wire make one GET to a server made by serve (which
// counts the requests it reads); the connection is in wire's pool.
func answeredOnce(t *testing.T, serve func(requests *atomic.Int64) func(net.Conn)) (u string, w *wire, c *http.Client, requests *atomic.Int64) {
	t.Helper()
	requests = new(atomic.Int64)
	u = rawServer(t, serve(requests))
	w = newTestWire(4)
	c = &http.Client{Transport: w}
	if got := wireGet(t, c, u); got != "ok" {
		t.Fatalf("first answer %q", got)
	}
	return u, w, c, requests
}

func TestWireFindsAConnectionTheServerClosed(t *testing.T) {
	u, w, c, requests := answeredOnce(t, closesAfterAnswer)
	// The server has closed by now: the peek sees it, and wire dials, so
	// that even a POST (never sent twice) goes through.
	time.Sleep(40 * time.Millisecond)
	resp, err := c.Post(u, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatalf("a POST after the close: %v", err)
	}
	io.ReadAll(resp.Body) // to its end: the connection goes back to the pool
	resp.Body.Close()
	if n := idleConns(w); n != 1 {
		t.Fatalf("%d idle connections after the POST, want 1", n)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("the server read %d requests, want 2", n)
	}
}

// closesOnSecond answers the first request on a connection and closes the
// connection on reading the second, unanswered: the second meets a reused
// connection that a peek found open. It counts the requests it read.
func closesOnSecond(requests *atomic.Int64) func(net.Conn) {
	return func(c net.Conn) {
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			requests.Add(1)
			if i > 0 {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	}
}

// TestWireSendsAReadAgain: a GET that meets a connection closed after
// the peek goes again on a new one (an empty body is no body).
func TestWireSendsAReadAgain(t *testing.T) {
	u, _, c, requests := answeredOnce(t, closesOnSecond)
	req, _ := http.NewRequest(http.MethodGet, u, http.NoBody)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("the GET was not sent again: %v", err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	// And one without a body at all, on the new connection's second turn.
	if got := wireGet(t, c, u); got != "ok" {
		t.Fatalf("the bodiless GET was not sent again: %q", got)
	}
	if n := requests.Load(); n != 5 {
		t.Errorf("the server read %d requests, want 5 (GET, then twice a GET unanswered and sent again)", n)
	}
}

// TestWireNeverSendsAWriteTwice: a POST that meets a closed connection is
// not sent again (the server might have acted on it); it fails, and says
// it was written, so the caller treats it as possibly applied.
func TestWireNeverSendsAWriteTwice(t *testing.T) {
	u, _, c, requests := answeredOnce(t, closesOnSecond)
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodPost, u, strings.NewReader(`{}`))
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a POST on a closed connection succeeded")
	}
	if !wrote.Load() {
		t.Error("the POST was written but WroteRequest did not say so")
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("the server read %d requests, want 2 (the GET, the POST once)", n)
	}
}

func TestWireCancelStopsABodyMidway(t *testing.T) {
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "part")
		w.(http.Flusher).Flush()
		<-stall
	}))
	defer srv.Close()
	defer close(stall) // before Close, which waits for the handler
	w := newTestWire(4)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := (&http.Client{Transport: w}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a cancelled body read ended without an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the context did not stop the body read")
	}
	if n := idleConns(w); n != 0 {
		t.Errorf("a cancelled connection went back to the pool (%d idle)", n)
	}
}

// TestWireDoesNotDrainAnEndlessBody: closing a body before its end closes
// the connection; it does not read on (a hostile server never ends).
func TestWireDoesNotDrainAnEndlessBody(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for range 1 << 15 { // 1 GiB, chunked
			if _, err := w.Write(chunk); err != nil {
				return
			}
			sent.Add(int64(len(chunk)))
		}
	}))
	defer srv.Close()
	w := newTestWire(4)
	resp, err := (&http.Client{Transport: w}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp.Body.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s: it read the body on", d)
	}
	time.Sleep(50 * time.Millisecond)
	if n := sent.Load(); n > 64<<20 {
		t.Errorf("the server got %d MB out after Close", n>>20)
	}
	if n := idleConns(w); n != 0 {
		t.Errorf("a half-read connection went back to the pool (%d idle)", n)
	}
}

func TestWireRefusesEndlessHeaders(t *testing.T) {
	u := rawServer(t, func(c net.Conn) {
		http.ReadRequest(bufio.NewReader(c))
		io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		line := "X-Junk: " + strings.Repeat("j", 1000) + "\r\n"
		for range 4096 { // 4 MB of headers
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
		}
	})
	_, err := (&http.Client{Transport: newTestWire(1)}).Get(u)
	if !errors.Is(err, errHeadTooLarge) {
		t.Errorf("4 MB of headers: err = %v, want %v", err, errHeadTooLarge)
	}
}

func TestWireSkipsInterimAnswers(t *testing.T) {
	u := rawServer(t, func(c net.Conn) {
		http.ReadRequest(bufio.NewReader(c))
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal")
	})
	if got := wireGet(t, &http.Client{Transport: newTestWire(1)}, u); got != "real" {
		t.Errorf("answer %q, want the final one", got)
	}
}

func TestWireHonoursConnectionClose(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}))
	conns := countConns(srv)
	srv.Start()
	defer srv.Close()
	w := newTestWire(4)
	c := &http.Client{Transport: w}
	for range 3 {
		wireGet(t, c, srv.URL)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("3 answers with Connection: close, %d connections", n)
	}
	if n := idleConns(w); n != 0 {
		t.Errorf("%d closed connections pooled", n)
	}
}

// TestWireLeavesProxiesToNetHTTP: a request the environment sends through
// a proxy goes by net/http's Transport, which speaks to proxies.
func TestWireLeavesProxiesToNetHTTP(t *testing.T) {
	var via atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		via.Add(1)
		fmt.Fprintf(w, "proxied %s", r.URL)
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(pu)
	w := newWire(tr, 4)
	if got := wireGet(t, &http.Client{Transport: w}, "http://api.example.invalid/x"); got != "proxied http://api.example.invalid/x" {
		t.Errorf("answer %q", got)
	}
	if via.Load() != 1 {
		t.Error("the request did not go through the proxy")
	}
}

// TestNewSendsByWire: a Client made without an HTTPClient sends through
// wire; one given an HTTPClient uses it.
func TestNewSendsByWire(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", nil)
	if _, ok := c.http.Transport.(*wire); !ok {
		t.Errorf("default transport is %T, want *wire", c.http.Transport)
	}
	own := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
	c = newClient(t, "http://127.0.0.1:1", func(cfg *Config) { cfg.HTTPClient = own })
	if c.wire != nil || c.http.Transport != own.Transport {
		t.Error("Config.HTTPClient was not used")
	}
	if own.CheckRedirect != nil {
		t.Error("New changed the caller's HTTPClient")
	}
}

func TestWireDropsAConnectionIdleTooLong(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	conns := countConns(srv)
	srv.Start()
	defer srv.Close()
	w := newTestWire(4)
	w.idleTimeout = 20 * time.Millisecond
	c := &http.Client{Transport: w}
	wireGet(t, c, srv.URL)
	time.Sleep(40 * time.Millisecond)
	wireGet(t, c, srv.URL)
	if n := conns.Load(); n != 2 {
		t.Errorf("a connection idle past the timeout was reused: %d connections, want 2", n)
	}
}

// TestWireReportsAWriteThatFailed: a request the server never took is
// reported as not written, so a write that failed so may be sent again.
func TestWireReportsAWriteThatFailed(t *testing.T) {
	u := rawServer(t, func(c net.Conn) {
		c.Read(make([]byte, 1024))    // the request has begun
		c.(*net.TCPConn).SetLinger(0) // and the server resets
	})
	var wrote, told atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		told.Store(true)
		wrote.Store(i.Err == nil)
	}}
	body := strings.Repeat("x", 32<<20)
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodPut, u, strings.NewReader(body))
	resp, err := (&http.Client{Transport: newTestWire(1)}).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a PUT to a server that resets succeeded")
	}
	if !told.Load() || wrote.Load() {
		t.Errorf("WroteRequest told: %v, written: %v; want told, not written (err %v)", told.Load(), wrote.Load(), err)
	}
}

// TestWireProxyErrorGoesToNetHTTP: when the proxy setting cannot be read
// (a malformed HTTPS_PROXY), net/http's Transport reports it.
func TestWireProxyErrorGoesToNetHTTP(t *testing.T) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = func(*http.Request) (*url.URL, error) { return nil, errors.New("bad proxy setting") }
	_, err := (&http.Client{Transport: newWire(tr, 1)}).Get("http://127.0.0.1:1/")
	if err == nil || !strings.Contains(err.Error(), "bad proxy setting") {
		t.Errorf("err = %v, want the proxy setting's", err)
	}
}

func TestWireAddsTheDefaultPort(t *testing.T) {
	for u, want := range map[string]string{
		"https://api.example.com/v1": "api.example.com:443",
		"http://api.example.com/v1":  "api.example.com:80",
		"http://127.0.0.1:8080/x":    "127.0.0.1:8080",
		"https://[::1]/x":            "[::1]:443",
	} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if got := addr(req); got != want {
			t.Errorf("addr(%s) = %s, want %s", u, got, want)
		}
	}
}
