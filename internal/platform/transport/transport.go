package transport

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// Defaults used when a Config field is zero.
const (
	DefaultMaxConcurrency = 8
	DefaultTimeout        = 30 * time.Second
	DefaultMaxAttempts    = 5
	DefaultBaseDelay      = 500 * time.Millisecond
	DefaultMaxDelay       = 30 * time.Second
	// DefaultMaxRetryAfter caps how long one Retry-After is obeyed; a server
	// asking for longer ends the retries so that a run does not hang.
	DefaultMaxRetryAfter = 2 * time.Minute
	// maxBody guards memory against a runaway response.
	maxBody = 64 << 20
)

// Retry is the retry policy for idempotent requests (platform.Retry, so
// that platform settings can carry it).
type Retry = platform.Retry

func withDefaults(r Retry) Retry {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = DefaultBaseDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.MaxDelay < r.BaseDelay {
		r.MaxDelay = r.BaseDelay
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return r
}

// Config configures a Client. BaseURL and Platform are required.
type Config struct {
	Platform string // "make" or "patchworks": names stats and log lines
	BaseURL  string // prefix of every request path, no trailing slash needed
	// Authorization is the header value sent with every request. It is
	// never logged and never part of an error.
	Authorization string
	// Header is sent with every request (e.g. Accept).
	Header http.Header
	// RequestsPerMinute is the platform's per-minute limit (the
	// organisation's); required (> 0). A server that sends
	// X-RateLimit-Limit overrides it.
	RequestsPerMinute int
	// QuotaShare is the share of that limit this client may use, in
	// (0, 1]; 0 means 1. Within any minute it sends at most
	// floor(limit x share) requests, as a burst when it has them (see
	// pacer), and never more than the server says remain.
	QuotaShare float64
	// Window is the length of the server's rate-limit window; 0 means
	// one minute (Make's and Patchworks'). Tests shorten it.
	Window time.Duration
	// Burst is no longer used: the pacer bursts up to the minute's
	// allowance. Kept so that older configurations compile.
	Burst          int
	MaxConcurrency int           // requests in flight; 0 means DefaultMaxConcurrency
	Timeout        time.Duration // per attempt, body read included; 0 means DefaultTimeout
	Retry          Retry
	HTTPClient     *http.Client // nil means a new client without a global timeout
	Logger         *slog.Logger // nil means discard
}

// Client sends requests for one platform.
type Client struct {
	cfg  Config
	base string
	http *http.Client
	// wire is http's Transport when it is syncd's own (New's default):
	// send calls it directly, and a GET with header writes getHead after
	// its request line (see getHead) when its Host is getHost.
	wire    *wire
	getHead []byte
	getHost string
	log     *slog.Logger
	pace    *pacer
	sem     chan struct{}

	// own cuts the client's credentials out of error bodies: a server
	// that echoes request headers must not carry them into an error.
	own syncd.Scrubber

	// header is what every request carries: Config.Header and the
	// Authorization, canonical; nil when there is none.
	header http.Header

	mu       sync.Mutex
	byStatus map[int]int64
}

// NewHTTPClient is the HTTP client New gives a Client without
// Config.HTTPClient: wire sends the requests itself, on the caller's
// goroutine, keeping up to maxIdle idle connections per server; through a
// proxy they go by net/http's Transport, which keeps as many (its default,
// two, would make every other request in flight pay for a new
// connection).
func NewHTTPClient(maxIdle int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = maxIdle
	return &http.Client{Transport: newWire(tr, maxIdle)}
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Platform == "" {
		return nil, errors.New("transport: platform is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: base URL %q is not an absolute http(s) URL", cfg.Platform, cfg.BaseURL)
	}
	if cfg.RequestsPerMinute <= 0 {
		return nil, fmt.Errorf("%s: requests per minute must be positive", cfg.Platform)
	}
	if cfg.QuotaShare < 0 || cfg.QuotaShare > 1 {
		return nil, fmt.Errorf("%s: quota share %v is not in (0, 1]", cfg.Platform, cfg.QuotaShare)
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = DefaultMaxConcurrency
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.Retry = withDefaults(cfg.Retry)
	var userinfo []string
	if u.User != nil {
		// Credentials in the base URL are sent as http.Client sends them:
		// Basic, when no Authorization is configured (wire does not go
		// through http.Client, which added it). Either way they are
		// secrets for the scrubber.
		pw, _ := u.User.Password()
		userinfo = append(userinfo, u.User.Username(), pw)
		if cfg.Authorization == "" {
			cfg.Authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))
		}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = NewHTTPClient(cfg.MaxConcurrency)
	}
	w, _ := hc.Transport.(*wire)
	if w == nil {
		own := *hc // the caller's client, as it is, but redirects come back as answers
		own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		hc = &own
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var creds []string
	for _, v := range userinfo {
		if strings.TrimSpace(v) != "" {
			creds = append(creds, v)
		}
	}
	if a := strings.TrimSpace(cfg.Authorization); a != "" {
		creds = append(creds, a)
		if _, tok, ok := strings.Cut(a, " "); ok && strings.TrimSpace(tok) != "" {
			creds = append(creds, strings.TrimSpace(tok))
		}
	}
	// Every request carries the same headers: canonicalised once here;
	// a request that adds its own gets a copy.
	var header http.Header
	if len(cfg.Header) > 0 || cfg.Authorization != "" {
		header = http.Header{}
		for k, vs := range cfg.Header {
			for _, v := range vs {
				header.Add(k, v)
			}
		}
		if cfg.Authorization != "" {
			header.Set("Authorization", cfg.Authorization)
		}
	}
	// Checked once here, as net/http's Transport checks every request: a
	// header it would refuse is refused before anything is sent, naming
	// the header and never its value (a token).
	for k, vs := range header {
		if !validFieldName(k) {
			return nil, fmt.Errorf("%s: %q is not a valid HTTP header name", cfg.Platform, k)
		}
		for _, v := range vs {
			if !validFieldValue(v) {
				what := "the " + k + " header"
				if k == "Authorization" {
					what = "the token (the Authorization header)"
				}
				return nil, fmt.Errorf("%s: %s holds a character HTTP does not allow (a line break or another control character)", cfg.Platform, what)
			}
		}
	}
	c := &Client{
		header:   header,
		own:      syncd.NewScrubber(creds),
		cfg:      cfg,
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		http:     hc,
		wire:     w,
		log:      log,
		pace:     newPacer(cfg.RequestsPerMinute, cfg.QuotaShare, cfg.Window, nil),
		sem:      make(chan struct{}, cfg.MaxConcurrency),
		byStatus: map[int]int64{},
	}
	if w != nil {
		c.getHead, c.getHost = getHead(c.base, header)
	}
	return c, nil
}

// validFieldName reports whether k is an HTTP field name: a token of
// RFC 9110 (letters, digits and !#$%&'*+-.^_`|~).
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validFieldValue reports whether v may be an HTTP field value: no control
// character but the tab (net/http's rule).
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// sameHeader reports whether a and b are the same map (the Client's
// shared header, not a copy with more in it).
func sameHeader(a, b http.Header) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// BaseURL is the prefix of every request path, as configured.
func (c *Client) BaseURL() string { return c.base }

// Request is one API call. Path is relative to the base URL and already
// escaped.
type Request struct {
	Method      string
	Path        string
	Query       url.Values
	Body        []byte // nil for none; never logged
	ContentType string
}

// Op names the request in errors and logs: method and path, no host, no
// query values (they could carry user data), no body.
func (r Request) Op() string { return r.Method + " " + r.Path }

// Idempotent reports whether the method may be repeated without a lookup.
func Idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// Response is the outcome of the last attempt of a request.
type Response struct {
	Status int // 0 when no response arrived
	Header http.Header
	Body   []byte
	// Err is the network failure when Status is 0 (or the body could not
	// be read); it never contains the URL's host or the request body.
	Err error
	// Sent is true when the request had been written in full before Err;
	// a write may then have been applied.
	Sent bool
	// Canceled is true when the caller's context ended the request.
	Canceled bool
	// Timeout is true when the per-attempt timeout ended it.
	Timeout  bool
	Attempts int
	// Location is where a 3xx answer redirects to (scheme, host and
	// path; no credentials or query), for the error that refuses it.
	Location string
}

// RetryAfter parses the response's Retry-After header (seconds or an HTTP
// date); 0 when absent or unparsable.
// NoResponse is the error for a request that got no HTTP answer: the
// caller's own cancellation as such, anything else (refused, reset, timed
// out) as a transient APIError, ambiguous when a write was sent.
func (r *Response) NoResponse(name, op string) error {
	if r.Canceled {
		return fmt.Errorf("%s: %s: %w", name, op, r.Err)
	}
	msg := "no response"
	if r.Err != nil {
		msg = r.Err.Error()
	}
	if r.Attempts > 1 {
		msg += fmt.Sprintf(" (after %d attempts)", r.Attempts)
	}
	return &platform.APIError{Platform: name, Op: op, Kind: platform.KindTransient,
		Message: msg, Ambiguous: IsWrite(op) && r.Sent}
}

// Redirected reports whether the answer to op is a redirect (3xx), says
// so for an error, and whether the write may have been done. syncd does
// not follow one (see Client.send). A read did nothing either way; a
// write answered 307 or 308 was not done (the server asks for the same
// request elsewhere); a write answered 301, 302 or 303 may have been
// (303 See Other is how a server that did a POST points at its result),
// so it is ambiguous, and the caller looks before it writes again.
func (r *Response) Redirected(op string) (msg string, ambiguous, ok bool) {
	if r.Status < 300 || r.Status >= 400 {
		return "", false, false
	}
	to := "elsewhere"
	if r.Location != "" {
		to = "to " + r.Location
	}
	msg = "the server redirects " + to + "; syncd does not follow redirects"
	switch {
	case !IsWrite(op):
		return msg, false, true
	case r.Status == http.StatusTemporaryRedirect || r.Status == http.StatusPermanentRedirect:
		return msg + ", so nothing was done", false, true
	}
	return msg + "; the write may have been done", true, true
}

// IsWrite reports whether an op ("METHOD /path") may change server state.
func IsWrite(op string) bool {
	return !strings.HasPrefix(op, http.MethodGet+" ") && !strings.HasPrefix(op, http.MethodHead+" ")
}

func (r *Response) RetryAfter() time.Duration {
	if r == nil || r.Header == nil {
		return 0
	}
	return parseRetryAfter(r.Header.Get("Retry-After"), time.Now())
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Stats returns the cumulative attempt counts by status.
func (c *Client) Stats() platform.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[int]int64, len(c.byStatus))
	for k, v := range c.byStatus {
		m[k] = v
	}
	return platform.Stats{Platform: c.cfg.Platform, ByStatus: m}
}

func (c *Client) pause(d time.Duration) { c.pace.pause(d) }

// ETA is how long sending remaining more requests takes from now at the
// current quota share and the server's advertised state, latency not
// included: what is left of this minute's allowance goes at once, then one
// allowance per minute. Progress lines and /v1/status use it.
func (c *Client) ETA(remaining int) time.Duration { return c.pace.eta(remaining) }

// Allowance is the requests per minute this client may send (its share of
// the limit) and the limit itself (the server's when it advertised one).
func (c *Client) Allowance() (perMinute, limit int) { return c.pace.perMinute() }

// Platform names the client's platform.
func (c *Client) Platform() string { return c.cfg.Platform }

func (c *Client) count(status int) {
	c.mu.Lock()
	c.byStatus[status]++
	c.mu.Unlock()
}

// Do sends req, retrying an idempotent one as the policy allows, and any
// request answered 429 (rate limits refuse before doing anything). It always
// returns a Response: the caller classifies it.
func (c *Client) Do(ctx context.Context, req Request) *Response {
	retryable := Idempotent(req.Method)
	var resp *Response
	for attempt := 1; ; attempt++ {
		resp = c.attempt(ctx, req)
		resp.Attempts = attempt
		// A 429 is answered before any work is done, so even a create
		// may be sent again: it cannot make a duplicate.
		again := shouldRetry(resp) && (retryable || resp.Status == http.StatusTooManyRequests)
		if resp.Canceled || !again || attempt >= c.cfg.Retry.MaxAttempts {
			return resp
		}
		wait := c.backoff(attempt)
		if ra := resp.RetryAfter(); ra > 0 {
			if ra > c.cfg.Retry.MaxRetryAfter {
				c.log.Debug("retry-after too long, giving up", "platform", c.cfg.Platform, "op", req.Op(), "retry_after", ra)
				return resp
			}
			wait = ra
			if resp.Status == http.StatusTooManyRequests {
				c.pause(ra)
			}
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return resp
		}
		c.log.Debug("retrying request", "platform", c.cfg.Platform, "op", req.Op(),
			"attempt", attempt, "status", resp.Status, "error", errString(resp.Err), "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp
		case <-t.C:
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func shouldRetry(r *Response) bool {
	if r.Status == 0 {
		return true
	}
	return r.Status == http.StatusTooManyRequests || r.Status >= 500
}

// backoff is exponential with full jitter, so that many clients that failed
// together do not come back together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.Retry.BaseDelay << (attempt - 1)
	if d <= 0 || d > c.cfg.Retry.MaxDelay {
		d = c.cfg.Retry.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) attempt(ctx context.Context, req Request) *Response {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return &Response{Err: ctx.Err(), Canceled: true}
	}
	defer func() { <-c.sem }()
	if s := SpreadFrom(ctx); s != nil {
		if err := s.wait(ctx, c.cfg.Platform); err != nil {
			return &Response{Err: err, Canceled: true}
		}
	}
	err := c.pace.wait(ctx)
	if err != nil {
		// The pacer also fails early when the deadline is too near for a
		// slot; that is the caller's deadline, not a network problem.
		if ctx.Err() != nil {
			return &Response{Err: ctx.Err(), Canceled: true}
		}
		return &Response{Err: fmt.Errorf("rate limiter: %w", context.DeadlineExceeded), Canceled: true}
	}
	answered := false
	defer func() {
		if !answered {
			c.pace.done(0, nil)
		}
	}()

	u := c.base + req.Path
	if len(req.Query) > 0 {
		u += "?" + req.Query.Encode()
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, u, body)
	if err != nil {
		return &Response{Err: errors.New("invalid request")}
	}
	switch {
	case req.ContentType != "":
		if c.header != nil {
			hreq.Header = c.header.Clone()
		}
		hreq.Header.Set("Content-Type", req.ContentType)
	case c.header != nil:
		// Shared by every request, and only read: net/http copies a
		// request's headers before it changes any (for a redirect).
		hreq.Header = c.header
	}

	hresp, actx, cancel, sent, err := c.send(hreq)
	if cancel != nil {
		defer cancel()
	}
	if err != nil {
		c.count(0)
		return c.failure(ctx, actx, err, sent)
	}
	defer hresp.Body.Close()
	answered = true
	c.pace.done(hresp.StatusCode, hresp.Header)
	b, err := readBody(hresp.Body, hresp.ContentLength)
	c.count(hresp.StatusCode)
	if err != nil {
		r := c.failure(ctx, actx, err, true)
		r.Status, r.Header = 0, hresp.Header
		return r
	}
	if hresp.StatusCode >= 400 && c.own.CanCut() {
		b = c.own.CutBytes(b)
	}
	r := &Response{Status: hresp.StatusCode, Header: hresp.Header, Body: b, Sent: true}
	if hresp.StatusCode >= 300 && hresp.StatusCode < 400 {
		r.Location = c.location(hreq.URL, hresp.Header.Get("Location"))
	}
	return r
}

// send sends hreq once, within the attempt's timeout, and returns the
// answer, the attempt's context (ended when its timeout passes) with its
// cancel (nil when there is none to call) and whether the request was
// written.
//
// A redirect is not followed: a base URL that redirects is a wrong one
// (http for https, a moved host), and following it would turn a POST
// into a GET (301, 302), or send a write twice. The 3xx answer goes to the
// platform's client, which refuses it.
//
// A request wire takes goes to it directly, with the timeout as the
// connection's deadline and written as wire saw it: http.Client's
// redirect bookkeeping (a copy of every request's headers and URL), a
// timer context and a trace per request cost a large plan about a tenth
// of its client CPU, for nothing. Anything else (a proxy, a caller's
// HTTPClient) goes by http.Client with a context that holds the timeout
// and a trace that hears of the write.
func (c *Client) send(hreq *http.Request) (*http.Response, context.Context, context.CancelFunc, bool, error) {
	ctx := hreq.Context()
	if c.wire != nil && c.wire.takes(hreq) {
		var head []byte
		if hreq.Method == http.MethodGet && hreq.Body == nil && hreq.Host == c.getHost && sameHeader(hreq.Header, c.header) {
			head = c.getHead
		}
		resp, written, err := c.wire.send(hreq, time.Now().Add(c.cfg.Timeout), head)
		return resp, ctx, nil, written, err
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	var mu sync.Mutex
	sent := false
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			mu.Lock()
			sent = true
			mu.Unlock()
		}
	}}
	hreq = hreq.WithContext(httptrace.WithClientTrace(actx, trace))
	var resp *http.Response
	var err error
	if c.wire != nil {
		resp, err = c.wire.RoundTrip(hreq)
	} else {
		resp, err = c.http.Do(hreq)
	}
	mu.Lock()
	defer mu.Unlock()
	return resp, actx, cancel, sent, err
}

// location is a redirect's target for an error message: resolved against
// the request's URL, without credentials, query or fragment, and with the
// client's credentials cut (a hostile server could echo them into it).
func (c *Client) location(base *url.URL, loc string) string {
	u, err := base.Parse(strings.TrimSpace(loc))
	if loc == "" || err != nil || u.Host == "" {
		return ""
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	// The path is written again from its decoded form, so that a secret
	// the server percent-encoded its own way is spelled as the scrubber
	// knows it; and if the decoded path holds one the written form still
	// hides, the whole target is withheld.
	u.RawPath = ""
	out := u.String()
	if c.own.Suspect(out) || c.own.Suspect(u.Path) || c.own.Scrub(u.Path) != u.Path && c.own.Scrub(out) == out {
		return syncd.Withheld
	}
	return c.own.Scrub(out)
}

// failure describes a network error without the URL that net/http puts in
// it: the host and query are not secret, but nothing is gained by echoing
// them, and a proxy URL could hold credentials.
func (c *Client) failure(ctx, actx context.Context, err error, sent bool) *Response {
	r := &Response{Sent: sent}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	switch {
	case ctx.Err() != nil:
		r.Canceled = true
		r.Err = ctx.Err()
	case actx.Err() != nil || isTimeout(err):
		r.Timeout = true
		r.Err = fmt.Errorf("no response within %s", c.cfg.Timeout)
	default:
		r.Err = err
	}
	return r
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// bodyBufs are readBody's buffers for bodies of unknown length; one that
// grew past maxPooledBody is left to the GC.
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBody = 1 << 20

// readBody reads a response body of at most maxBody bytes. With a declared
// length it reads into one buffer of that size, instead of the doubling
// buffers of io.ReadAll (a Make detail read is a few hundred bytes, a
// Patchworks page tens of KB). A body shorter than declared is the
// transport's io.ErrUnexpectedEOF, as with io.ReadAll.
func readBody(r io.Reader, n int64) ([]byte, error) {
	if n < 0 || n > maxBody {
		// Without a length (chunked) the body is read into a buffer kept
		// for the next, and copied out at its size: io.ReadAll's doubling
		// would allocate about three times a Patchworks page per page.
		buf := bodyBufs.Get().(*bytes.Buffer)
		buf.Reset()
		_, err := buf.ReadFrom(io.LimitReader(r, maxBody))
		b := append([]byte{}, buf.Bytes()...)
		if buf.Cap() <= maxPooledBody {
			bodyBufs.Put(buf)
		}
		return b, err
	}
	b := make([]byte, n)
	got, err := io.ReadFull(r, b)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // declared bytes, none came
	}
	if err != nil {
		return b[:got], err
	}
	// Read on to the end, so that the connection goes back to the pool.
	var rest [1]byte
	if _, err := r.Read(rest[:]); err != nil && err != io.EOF {
		return b, err
	}
	return b, nil
}
