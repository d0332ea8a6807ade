package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// wire is the HTTP/1.1 round tripper syncd's clients use: each exchange
// runs on the calling goroutine (write the request, read the response
// head, hand over the body), and the connection goes back to an idle pool
// when its body has been read to the end. net/http's Transport passes every
// request through a writer and a reader goroutine per connection; at the
// tens of thousands of small requests of a large plan those hand-offs cost
// about a third of the client's CPU. Requests wire does not take (another
// scheme, or a proxy from the environment) go to fallback, which is
// net/http's.
//
// Whether a request was written is reported as net/http reports it, by
// Request.Write through the request's httptrace.ClientTrace.WroteRequest:
// the no-duplicate promise rests on it (see Response.Sent).
type wire struct {
	fallback *http.Transport
	// tls is the client configuration for https; nil means the system's
	// roots and the host's name. Tests give their server's roots.
	tls     *tls.Config
	dialer  net.Dialer
	maxIdle int // idle connections kept per host
	// idleTimeout is wireIdleTimeout; tests shorten it.
	idleTimeout time.Duration

	mu   sync.Mutex
	idle map[string][]*wireConn // by scheme and host:port, newest last
}

const (
	// wireIdleTimeout is how long an idle connection is kept: beyond it
	// a server has usually closed its end (nginx after 75 s; earlier ones,
	// such as Apache after 5 s, a peek finds).
	wireIdleTimeout = 60 * time.Second
	// maxResponseHead bounds a response's status line and headers, as
	// net/http's Transport does (at 10 MiB by default; an API's heads
	// are a few hundred bytes): a server that sends headers without end
	// gets an error, not our memory.
	maxResponseHead = 1 << 20
)

// errHeadTooLarge is the answer to a response head over maxResponseHead.
var errHeadTooLarge = errors.New("response headers exceed 1 MiB")

type wireConn struct {
	key   string
	c     net.Conn
	raw   net.Conn // the TCP connection under c (c itself for http)
	lr    *limitedConn
	br    *bufio.Reader
	bw    *bufio.Writer
	since time.Time // idle since
}

// limitedConn reads from c at most left bytes: exchange sets it for a
// response head and lifts it for the body (whose size the caller bounds).
type limitedConn struct {
	c    net.Conn
	left int64
}

func (l *limitedConn) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errHeadTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.c.Read(p)
	l.left -= int64(n)
	return n, err
}

func newWire(fallback *http.Transport, maxIdle int) *wire {
	return &wire{
		fallback:    fallback,
		dialer:      net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
		maxIdle:     max(1, maxIdle),
		idleTimeout: wireIdleTimeout,
		idle:        map[string][]*wireConn{},
	}
}

// RoundTrip implements http.RoundTripper. The request context's deadline,
// if any, is also the connection's: it bounds every read and write of the
// exchange, the body's included.
func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	if !w.takes(req) {
		return w.fallback.RoundTrip(req)
	}
	deadline, _ := req.Context().Deadline()
	resp, _, err := w.send(req, deadline, nil)
	return resp, err
}

// send sends req, which wire takes, with deadline (zero for none) on the
// connection for the whole exchange, the body's reading included: a
// Client's attempt gives its timeout this way instead of by a context of
// its own. written reports, as Request.Write reports to a ClientTrace,
// whether the request was written (into the connection's buffer: a flush
// that fails still counts as written, never the other way). head, when
// not nil, is what Request.Write would write after the request line for
// req, a bodiless GET (see getHead); its request line is then all that is
// written afresh.
func (w *wire) send(req *http.Request, deadline time.Time, head []byte) (resp *http.Response, written bool, err error) {
	for {
		// As net/http: a request whose context has ended is not sent,
		// even on a connection at hand.
		if err := req.Context().Err(); err != nil {
			closeBody(req)
			return nil, false, err
		}
		pc, reused, err := w.conn(req.Context(), req, deadline)
		if err != nil {
			closeBody(req) // RoundTrip always closes it, as net/http's does
			return nil, false, err
		}
		resp, retry, written, err := w.exchange(pc, reused, req, deadline, head)
		if retry {
			continue // the server had closed the idle connection: nothing was read
		}
		return resp, written, err
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// takes reports whether wire sends req itself: plain http or https,
// straight to the server.
func (w *wire) takes(req *http.Request) bool {
	if req.URL == nil || req.URL.Scheme != "http" && req.URL.Scheme != "https" || req.URL.Host == "" {
		return false
	}
	if w.fallback.Proxy != nil {
		if p, err := w.fallback.Proxy(req); err != nil || p != nil {
			return false
		}
	}
	return true
}

// addr is req's host with its port.
func addr(req *http.Request) string {
	host, port := req.URL.Hostname(), req.URL.Port()
	if port == "" {
		port = "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

// conn takes an idle connection to req's server that is still open, or
// dials one.
func (w *wire) conn(ctx context.Context, req *http.Request, deadline time.Time) (*wireConn, bool, error) {
	key := req.URL.Scheme + "://" + addr(req)
	for {
		w.mu.Lock()
		list := w.idle[key]
		var pc *wireConn
		if n := len(list); n > 0 {
			pc = list[n-1]
			list[n-1] = nil
			w.idle[key] = list[:n-1]
		}
		w.mu.Unlock()
		if pc == nil {
			break
		}
		// Every reuse costs a peek (one recvfrom): what net/http's reader
		// goroutine sees at once, a close or bytes nobody asked for, must
		// not meet the next request, above all a write, which would fail
		// as written where net/http would have dialed.
		if time.Since(pc.since) < w.idleTimeout && alive(pc.raw) {
			return pc, true, nil
		}
		pc.c.Close()
	}
	pc, err := w.dial(ctx, req, key, deadline)
	return pc, false, err
}

func (w *wire) dial(ctx context.Context, req *http.Request, key string, deadline time.Time) (*wireConn, error) {
	d := w.dialer
	if !deadline.IsZero() {
		d.Deadline = deadline
	}
	raw, err := d.DialContext(ctx, "tcp", addr(req))
	if err != nil {
		return nil, err
	}
	raw.SetDeadline(deadline) // bounds the TLS handshake too
	c := raw
	if req.URL.Scheme == "https" {
		cfg := &tls.Config{}
		if w.tls != nil {
			cfg = w.tls.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = req.URL.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		c = tc
	}
	lr := &limitedConn{c: c}
	return &wireConn{key: key, c: c, raw: raw, lr: lr, br: bufio.NewReader(lr), bw: bufio.NewWriter(c)}, nil
}

// exchange writes req on pc and reads the response head. retry means the
// server had closed pc, a reused connection, before answering, and req may
// be sent again on another: it was never read (a replayable request, as
// net/http decides) or never written.
func (w *wire) exchange(pc *wireConn, reused bool, req *http.Request, deadline time.Time, head []byte) (resp *http.Response, retry, written bool, err error) {
	ctx := req.Context()
	pc.c.SetDeadline(deadline) // zero lifts an earlier exchange's
	stop := context.AfterFunc(ctx, func() {
		pc.c.SetDeadline(time.Unix(1, 0)) // wakes a blocked read or write
	})
	fail := func(err error) (*http.Response, bool, bool, error) {
		stop()
		pc.c.Close()
		if ctx.Err() != nil {
			return nil, false, written, ctx.Err()
		}
		return nil, false, written, err
	}
	// Request.Write tells the request's httptrace.ClientTrace.WroteRequest
	// what it wrote, as in net/http's Transport: into the buffer, so a
	// request whose flush fails still counts as sent (never the other way).
	// written says the same to send's caller.
	if head != nil {
		err = writeGet(pc.bw, req, head)
	} else {
		err = req.Write(pc.bw)
	}
	written = err == nil
	if err == nil {
		err = pc.bw.Flush()
	}
	if err != nil {
		if reused && w.again(ctx, req, stop) {
			pc.c.Close()
			return nil, true, false, nil
		}
		return fail(err)
	}
	// A server that closed the connection while it was idle answers
	// nothing at all: no byte, only the end or a reset.
	pc.lr.left = maxResponseHead
	if _, err := pc.br.Peek(1); err != nil {
		if reused && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) && w.again(ctx, req, stop) {
			pc.c.Close()
			return nil, true, false, nil
		}
		return fail(err)
	}
	for {
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			return fail(err)
		}
		// 1xx answers are interim (103 Early Hints); 101 would switch
		// protocols, which syncd never asks for.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			if resp.StatusCode == http.StatusSwitchingProtocols {
				return fail(errors.New("unexpected 101 Switching Protocols"))
			}
			continue
		}
		break
	}
	pc.lr.left = math.MaxInt64
	resp.Body = &wireBody{w: w, pc: pc, body: resp.Body, stop: stop, keep: !resp.Close && !req.Close}
	return resp, false, true, nil
}

// getHead is what Request.Write writes after the request line of a GET
// without a body to base's host with header: the Host line, the
// User-Agent and the headers, sorted and cleaned, and the blank line; and
// the request's Host, which a request must have to use it. A Client's
// GETs all share it, so each writes only its request line and this; nil
// when Request.Write refuses such a request (the requests then go by
// Request.Write, which says why).
func getHead(base string, header http.Header) (head []byte, host string) {
	req, err := http.NewRequest(http.MethodGet, base+"/", nil)
	if err != nil {
		return nil, ""
	}
	if header != nil {
		req.Header = header
	}
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return nil, ""
	}
	line, head, ok := bytes.Cut(b.Bytes(), []byte("\r\n"))
	if !ok || string(line) != "GET "+req.URL.RequestURI()+" HTTP/1.1" {
		return nil, ""
	}
	return head, req.Host
}

// writeGet writes req, a bodiless GET whose head getHead made, as
// Request.Write would.
func writeGet(bw *bufio.Writer, req *http.Request, head []byte) error {
	bw.WriteString("GET ")
	bw.WriteString(req.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\n")
	_, err := bw.Write(head)
	return err
}

// again reports whether req, which failed on a reused connection before
// any answer, goes out again on another: only a replayable one, and not
// once its context has ended.
func (w *wire) again(ctx context.Context, req *http.Request, stop func() bool) bool {
	return replayable(req) && ctx.Err() == nil && stop()
}

// replayable is net/http's rule for sending a request again after a reused
// connection failed, for the requests syncd makes: a method without side
// effects, and no body.
func replayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return req.Body == nil || req.Body == http.NoBody
	}
	return false
}

// put returns pc to the idle pool.
func (w *wire) put(pc *wireConn) {
	pc.c.SetDeadline(time.Time{}) // a passed deadline would fail the next peek
	pc.since = time.Now()
	w.mu.Lock()
	if list := w.idle[pc.key]; len(list) < w.maxIdle {
		w.idle[pc.key] = append(list, pc)
		pc = nil
	}
	w.mu.Unlock()
	if pc != nil {
		pc.c.Close()
	}
}

// CloseIdleConnections closes every idle connection, wire's and the
// fallback's; http.Client.CloseIdleConnections calls it.
func (w *wire) CloseIdleConnections() {
	w.mu.Lock()
	idle := w.idle
	w.idle = map[string][]*wireConn{}
	w.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.c.Close()
		}
	}
	w.fallback.CloseIdleConnections()
}

// wireBody is a response body: read to its end, it gives its connection
// back to the pool; closed before that, it closes the connection instead
// of reading the rest (a body can be hostile and endless).
type wireBody struct {
	w    *wire
	pc   *wireConn
	body io.ReadCloser
	stop func() bool // ends the context's hold on the connection
	keep bool        // the connection may carry another request
	mu   sync.Mutex
	done bool
}

func (b *wireBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.finish(true)
	}
	return n, err
}

func (b *wireBody) Close() error {
	b.finish(false)
	return nil
}

func (b *wireBody) finish(eof bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	// stop is false when the context already ended: its deadline is on
	// the connection, which must go.
	// Bytes already buffered past the answer are none of the next
	// request's: a connection that has them is not reused (net/http
	// drops it too, "Unsolicited response").
	if b.stop() && eof && b.keep && b.pc.br.Buffered() == 0 {
		b.w.put(b.pc)
		return
	}
	b.pc.c.Close()
}
