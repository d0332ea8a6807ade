package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default credentials, used when Options leaves them empty.
const (
	DefaultMakeToken       = "make-token"
	DefaultPatchworksToken = "patchworks-key"
)

// DefaultDeleteLag is how many list requests of an app still show a Make
// connection after its DELETE succeeded, imitating Make's asynchronous
// delete (API-NOTES). A list lag rather than a time lag keeps tests
// deterministic.
const DefaultDeleteLag = 1

// Platform names as they appear in Counts and in the control endpoints.
const (
	PlatformMake       = "make"
	PlatformPatchworks = "patchworks"
)

// Knobs are the behaviours that can be changed while the server runs.
// Rates are fractions in [0, 1] of the requests they apply to. In JSON
// (POST /_emulator/knobs) the names are latency ("10ms"), fail_rate,
// fail_after_write_rate, timeout_rate, rate_429, rate_limit, delete_lag.
type Knobs struct {
	// Latency is added to every API request before anything else happens.
	Latency time.Duration
	// FailRate answers a request 500, 502 or 503 before doing anything.
	FailRate float64
	// FailAfterWriteRate carries out a write (POST, PUT, PATCH, DELETE) and
	// then answers 502, so clients can prove they never duplicate a create.
	FailAfterWriteRate float64
	// TimeoutRate makes a request hang until the client gives up.
	TimeoutRate float64
	// Rate429 answers 429 with Retry-After: 1 at random.
	Rate429 float64
	// RateLimit is requests per minute per platform (0 = unlimited): a
	// token bucket refilled at RateLimit/60 per second holding at most
	// max(1, RateLimit/60) tokens.
	RateLimit int
	// DeleteLag is how many list requests of its app still show a deleted
	// Make connection: 0 means DefaultDeleteLag, a negative value turns
	// the lag off.
	DeleteLag int
	// IgnoreFields are fields whose writes are answered as success and
	// not kept, as Laravel does with a field it does not validate and as
	// Make does with an approved app's pending changes: "make/label",
	// "make/connectedSystemName", "make/sections/<section>",
	// "make/common", "patchworks/<field>", "patchworks/variables".
	// Creates are not affected.
	IgnoreFields []string
	// VariablesPut is what a Patchworks PUT does with the connector's
	// variables that its variables list does not name: VariablesMerge
	// ("" too) keeps them, VariablesReplace removes them. Both are
	// ASSUMED: the documentation does not say (API-NOTES).
	VariablesPut string
	// NoRetryAfter sends 429s without a Retry-After header. Whether Make
	// sends one is not documented (API-NOTES): ASSUMED either way.
	NoRetryAfter bool
	// RateWindow, when positive, makes RateLimit count requests per fixed
	// window of this length (RateLimit of them per window, the window
	// opening at the first request after the last one ended), as
	// Laravel's throttle does; 0 keeps the token bucket. Whether Make
	// counts this way is ASSUMED (its docs say "per minute").
	RateWindow time.Duration
	// RateHeaders sends the rate limit's state (with RateLimit set):
	// RateHeadersNone ("") sends none, RateHeadersFull sends
	// X-RateLimit-Limit, -Remaining and -Reset (Unix seconds, rounded up)
	// with every answer, RateHeadersLaravel sends Limit and Remaining with
	// every answer and X-RateLimit-Reset only with a 429, as Laravel's
	// ThrottleRequests does. Which of these Make and Patchworks send is
	// not documented: ASSUMED, syncd is tested against each.
	RateHeaders string
	// PageLinks is what a Patchworks page lists in meta.links:
	// PageLinksWindow ("") is Laravel's paginator (UrlWindow, three pages
	// on each side of the current one: every page up to 13, else the
	// first two, a window and the last two, with "..." between), and
	// PageLinksAll lists every page. Patchworks' answer looks like
	// Laravel's; that it keeps the default window is ASSUMED, and syncd
	// reads neither (it follows links.next and meta's numbers).
	PageLinks string
}

// What the emulator says about its rate limit (Knobs.RateHeaders).
const (
	RateHeadersNone    = ""
	RateHeadersFull    = "full"
	RateHeadersLaravel = "laravel"
)

// What a Patchworks page lists in meta.links (Knobs.PageLinks).
const (
	PageLinksWindow = ""
	PageLinksAll    = "all"
)

// What a Patchworks PUT does with unlisted variables (Knobs.VariablesPut).
const (
	VariablesMerge   = "merge"
	VariablesReplace = "replace"
)

// ignores says whether writes of field are dropped.
func (k Knobs) ignores(field string) bool {
	for _, f := range k.IgnoreFields {
		if f == field {
			return true
		}
	}
	return false
}

// Options configure a Server.
type Options struct {
	Knobs
	// MakeToken is accepted as "Authorization: Token <MakeToken>".
	MakeToken string
	// PatchworksToken is accepted as "Authorization: <PatchworksToken>".
	PatchworksToken string
	// Seed feeds the random source behind the rate knobs, so a run with
	// the same requests in the same order fails the same requests.
	Seed int64
	// Now is the clock of the rate limiter and of created_at/updated_at;
	// nil means time.Now.
	Now func() time.Time
	// MakeApps are Make apps that exist from the start, empty, and again
	// after a reset. Any other app answers 404 until a seed, AddMakeApps
	// or the control API declares it.
	MakeApps []string
}

// Server is an in-memory Make Web API v2 and Patchworks API v1. It is an
// http.Handler and safe for concurrent use.
type Server struct {
	makeToken, pwToken string
	now                func() time.Time
	makeApps           []string

	mu      sync.Mutex // guards everything below
	knobs   Knobs
	rng     *rand.Rand
	buckets map[string]*bucket
	windows map[string]*fixedWindow
	counts  map[string]*PlatformCounts
	mk      *makeState
	pw      *pwState

	closeOnce sync.Once
	closed    chan struct{}
}

// New returns a Server with no objects.
func New(opts Options) *Server {
	s := &Server{
		makeToken: opts.MakeToken,
		pwToken:   opts.PatchworksToken,
		now:       opts.Now,
		makeApps:  append([]string(nil), opts.MakeApps...),
		knobs:     opts.Knobs,
		rng:       rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed)),
		buckets:   map[string]*bucket{},
		windows:   map[string]*fixedWindow{},
		closed:    make(chan struct{}),
	}
	if s.makeToken == "" {
		s.makeToken = DefaultMakeToken
	}
	if s.pwToken == "" {
		s.pwToken = DefaultPatchworksToken
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.resetCountsLocked()
	s.resetObjectsLocked()
	return s
}

// Close releases requests that the TimeoutRate knob is holding, so an
// http.Server can shut down without waiting for clients to give up.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
}

// Knobs returns the current knobs.
func (s *Server) Knobs() Knobs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.knobs
}

// SetKnobs replaces all knobs. A changed RateLimit refills the buckets.
func (s *Server) SetKnobs(k Knobs) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k.RateLimit != s.knobs.RateLimit || k.RateWindow != s.knobs.RateWindow {
		s.buckets = map[string]*bucket{}
		s.windows = map[string]*fixedWindow{}
	}
	s.knobs = k
}

// UpdateKnobs changes knobs in place, atomically with respect to requests
// and other updates; f must not call the Server.
func (s *Server) UpdateKnobs(f func(*Knobs)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.knobs
	f(&k)
	if k.RateLimit != s.knobs.RateLimit || k.RateWindow != s.knobs.RateWindow {
		s.buckets = map[string]*bucket{}
		s.windows = map[string]*fixedWindow{}
	}
	s.knobs = k
}

func (k Knobs) deleteLag() int {
	switch {
	case k.DeleteLag < 0:
		return 0
	case k.DeleteLag == 0:
		return DefaultDeleteLag
	}
	return k.DeleteLag
}

// PlatformCounts are the requests one platform's API answered.
type PlatformCounts struct {
	Total    int            `json:"total"`
	ByStatus map[string]int `json:"by_status"`
	ByMethod map[string]int `json:"by_method"`
	// ByRoute is keyed by "METHOD /route/{template}", the route relative
	// to the client's base URL ("GET /sdk/apps/{app}/connections",
	// "GET /api/v1/connectors"), for tests that count requests of one
	// kind. Requests that matched no route are only in the other counts.
	ByRoute map[string]int `json:"by_route"`
}

// Counts are the requests served per platform; control requests are not
// counted.
type Counts struct {
	Make       PlatformCounts `json:"make"`
	Patchworks PlatformCounts `json:"patchworks"`
}

// Counts returns a copy of the request counters.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := func(p *PlatformCounts) PlatformCounts {
		out := PlatformCounts{Total: p.Total, ByStatus: map[string]int{}, ByMethod: map[string]int{}, ByRoute: map[string]int{}}
		for k, v := range p.ByStatus {
			out.ByStatus[k] = v
		}
		for k, v := range p.ByMethod {
			out.ByMethod[k] = v
		}
		for k, v := range p.ByRoute {
			out.ByRoute[k] = v
		}
		return out
	}
	return Counts{Make: cp(s.counts[PlatformMake]), Patchworks: cp(s.counts[PlatformPatchworks])}
}

// ResetCounts zeroes the request counters.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetCountsLocked()
}

func (s *Server) resetCountsLocked() {
	s.counts = map[string]*PlatformCounts{}
	for _, p := range []string{PlatformMake, PlatformPatchworks} {
		s.counts[p] = &PlatformCounts{ByStatus: map[string]int{}, ByMethod: map[string]int{}, ByRoute: map[string]int{}}
	}
}

// Reset drops every object and restarts names and ids; knobs and counters
// are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetObjectsLocked()
}

func (s *Server) resetObjectsLocked() {
	s.mk = newMakeState()
	s.pw = newPWState()
	for _, app := range s.makeApps {
		s.mk.app(app)
	}
}

// ServeHTTP routes /api/v2 to Make, /api/v1 to Patchworks and /_emulator/
// to the control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/_emulator/"):
		s.serveControl(w, r)
	case p == "/api/v2" || strings.HasPrefix(p, "/api/v2/"):
		s.serveAPI(w, r, PlatformMake)
	case p == "/api/v1" || strings.HasPrefix(p, "/api/v1/"):
		s.serveAPI(w, r, PlatformPatchworks)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found: " + p})
	}
}

// reqInfo lets handlers name the route they served for Counts.ByRoute.
type reqInfo struct{ route string }

// statusWriter remembers the status code for the counters.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// bufferWriter holds a response so FailAfterWriteRate can replace it after
// the write has been carried out.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// copyTo sends the held response on.
func (b *bufferWriter) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(max(b.status, http.StatusOK))
	_, _ = w.Write(b.body.Bytes())
}

// chaos is what the knobs decided for one request.
type chaos struct {
	limited    bool
	retryAfter int // seconds; 0: no Retry-After header
	random429  bool
	// rate carries X-RateLimit-* headers for the answer (nil: none).
	rate      http.Header
	fail      int
	hang      bool
	failAfter bool
}

func (s *Server) decide(platform, method string) (c chaos, latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.knobs
	defer func() {
		if k.NoRetryAfter {
			c.retryAfter = 0
		}
	}()
	if k.RateLimit > 0 {
		var ok bool
		var wait, remaining int
		var reset time.Time
		now := s.now()
		if k.RateWindow > 0 {
			f := s.windows[platform]
			if f == nil {
				f = &fixedWindow{}
				s.windows[platform] = f
			}
			ok, wait = f.take(now, k.RateLimit, k.RateWindow)
			remaining, reset = f.state(k.RateLimit, k.RateWindow)
		} else {
			b := s.buckets[platform]
			if b == nil {
				b = &bucket{}
				s.buckets[platform] = b
			}
			ok, wait = b.take(now, k.RateLimit)
			remaining, reset = b.state(k.RateLimit)
		}
		if k.RateHeaders == RateHeadersFull || k.RateHeaders == RateHeadersLaravel {
			c.rate = http.Header{}
			c.rate.Set("X-RateLimit-Limit", strconv.Itoa(k.RateLimit))
			c.rate.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
			if k.RateHeaders == RateHeadersFull || !ok {
				// Rounded up: a client waiting until this second never
				// arrives before the window ends.
				sec := reset.Unix()
				if reset.Nanosecond() > 0 {
					sec++
				}
				c.rate.Set("X-RateLimit-Reset", strconv.FormatInt(sec, 10))
			}
		}
		if !ok {
			c.limited, c.retryAfter = true, wait
			return c, k.Latency
		}
	}
	hit := func(rate float64) bool { return rate > 0 && s.rng.Float64() < rate }
	switch {
	case hit(k.Rate429):
		c.random429, c.retryAfter = true, 1
	case hit(k.FailRate):
		c.fail = []int{500, 502, 503}[s.rng.IntN(3)]
	case hit(k.TimeoutRate):
		c.hang = true
	case isWrite(method) && hit(k.FailAfterWriteRate):
		c.failAfter = true
	}
	return c, k.Latency
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func (s *Server) serveAPI(rw http.ResponseWriter, r *http.Request, platform string) {
	w := &statusWriter{ResponseWriter: rw}
	info := &reqInfo{}
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		pc := s.counts[platform]
		pc.Total++
		pc.ByStatus[strconv.Itoa(w.status)]++
		pc.ByMethod[r.Method]++
		if info.route != "" {
			pc.ByRoute[r.Method+" "+info.route]++
		}
	}()

	c, latency := s.decide(platform, r.Method)
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			w.status = 499 // client closed request; nothing can be written
			return
		case <-s.closed:
			t.Stop()
		}
	}
	for name, v := range c.rate {
		w.Header()[name] = v
	}
	switch {
	case c.limited || c.random429:
		if c.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(c.retryAfter))
		}
		s.tooMany(w, platform)
		return
	case c.fail != 0:
		s.serverError(w, platform, c.fail)
		return
	case c.hang:
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		s.serverError(w, platform, http.StatusGatewayTimeout)
		return
	}

	handle := s.serveMake
	if platform == PlatformPatchworks {
		handle = s.servePatchworks
	}
	if !c.failAfter {
		handle(w, r, info)
		return
	}
	buf := &bufferWriter{header: http.Header{}}
	handle(buf, r, info)
	if buf.status >= 200 && buf.status < 300 {
		s.serverError(w, platform, http.StatusBadGateway)
		return
	}
	buf.copyTo(w)
}

func (s *Server) tooMany(w http.ResponseWriter, platform string) {
	if platform == PlatformMake {
		msg := "Requests limit for organization exceeded, please try again later."
		makeError(w, http.StatusTooManyRequests, msg, msg)
		return
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Too Many Attempts."})
}

func (s *Server) serverError(w http.ResponseWriter, platform string, status int) {
	text := http.StatusText(status)
	if platform == PlatformMake {
		makeError(w, status, text, "The emulator was told to fail this request ("+text+").")
		return
	}
	msg := "Server Error"
	if status != http.StatusInternalServerError {
		msg = text
	}
	writeJSON(w, status, map[string]any{"message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // URLs in links keep their "&"
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// decodeJSON decodes a request body keeping numbers as json.Number, so
// integers can be told from fractions.
func decodeJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	var extra any
	if err := d.Decode(&extra); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}
