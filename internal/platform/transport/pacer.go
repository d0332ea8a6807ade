package transport

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Window is the length of the servers' rate-limit windows: Make and
// Patchworks (Laravel) both count requests per minute.
const Window = time.Minute

// DefaultQuotaShare is the share of a platform's per-minute limit syncd
// takes when Config.QuotaShare is zero in the CLI; the transport itself
// treats zero as the whole limit (1), so that library users and tests keep
// the limit they configure.
const DefaultQuotaShare = 0.5

// pacer decides when an attempt may be sent. It allows bursts: within any
// Window it sends at most allowance() requests, all at once if the caller
// has them, which is never more than a server counting fixed minutes
// admits (a fixed window is one of the sliding ones; see sent). When the server
// advertises its own view (X-RateLimit-Limit, -Remaining, -Reset,
// Retry-After) the pacer adopts the server's limit and never sends more
// than the server says remain before its window resets.
type pacer struct {
	now    func() time.Time
	window time.Duration

	mu    sync.Mutex
	limit int     // per window: configured, or the server's X-RateLimit-Limit
	share float64 // of limit syncd may use, (0, 1]
	// sent are when this client's requests of the last window ended
	// (answer or failure), oldest first; sent[head:] is live, the slice
	// is compacted now and then. A request reached the server between its
	// send and its end, so counting a send as used until one window after
	// its end keeps any window of the server's (which counts arrivals) at
	// or under the allowance.
	sent []time.Time
	head int
	// inflight are sends not yet ended; they use a slot too.
	inflight int
	// The server's view from its last rate-limit headers: srvRemaining
	// sends are left until srvReset (an upper bound of the window's end).
	srvKnown     bool
	srvRemaining int
	srvReset     time.Time
	// pauseUntil holds every attempt back after a 429 with Retry-After:
	// the limit is the organisation's, so all workers wait, not only the
	// one that was told.
	pauseUntil time.Time
	// headers is set once the server sent rate-limit headers; from then
	// on, while its current window is unknown, one request goes first and
	// the others wait for its answer (answered is closed on every answer),
	// so that a burst never overruns what other clients left.
	// contact is set by the first answer: before it, one request goes
	// alone too, so that a first burst cannot overrun what others left.
	headers  bool
	contact  bool
	answered chan struct{}
}

func newPacer(limit int, share float64, window time.Duration, now func() time.Time) *pacer {
	if share <= 0 || share > 1 {
		share = 1
	}
	if now == nil {
		now = time.Now
	}
	if window <= 0 {
		window = Window
	}
	return &pacer{now: now, window: window, limit: limit, share: share}
}

// allowance is how many requests syncd may send per window.
func (p *pacer) allowance() int {
	a := int(math.Floor(float64(p.limit) * p.share))
	return max(1, a)
}

func (p *pacer) prune(now time.Time) {
	cut := now.Add(-p.window)
	for p.head < len(p.sent) && !p.sent[p.head].After(cut) {
		p.head++
	}
	if p.head > 1024 && p.head*2 > len(p.sent) {
		p.sent = append(p.sent[:0], p.sent[p.head:]...)
		p.head = 0
	}
}

// reserve takes a send slot now, or says how long to wait (or which
// answer to wait for) before asking again.
func (p *pacer) reserve() (wait time.Duration, answer <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Before(p.pauseUntil) {
		return p.pauseUntil.Sub(now), nil
	}
	p.prune(now)
	if p.srvKnown && !now.Before(p.srvReset) {
		// The server's window is over; until its next answer only the
		// own allowance (a share of its limit) applies.
		p.srvKnown = false
	}
	if p.srvKnown && p.srvRemaining <= 0 {
		return p.srvReset.Sub(now), nil
	}
	live := p.sent[p.head:]
	if k := len(live) + p.inflight - p.allowance(); k >= 0 {
		if k < len(live) {
			return live[k].Add(p.window).Sub(now), nil
		}
		// Every slot is taken by requests still unanswered.
		if p.answered == nil {
			p.answered = make(chan struct{})
		}
		return 0, p.answered
	}
	if (!p.contact || p.headers && !p.srvKnown) && p.inflight > 0 {
		if p.answered == nil {
			p.answered = make(chan struct{})
		}
		return 0, p.answered
	}
	p.inflight++
	if p.srvKnown {
		p.srvRemaining--
	}
	return 0, nil
}

// wait blocks until a slot is reserved. It fails at once when ctx's
// deadline comes before the slot would: that is the caller's deadline,
// not a network problem.
func (p *pacer) wait(ctx context.Context) error {
	for {
		d, answer := p.reserve()
		if answer != nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-answer:
			}
			continue
		}
		if d <= 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && dl.Before(p.now().Add(d)) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errDeadlineBeforeSlot
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// done ends a reserved send; h is the answer's header (nil without an
// answer).
func (p *pacer) done(status int, h http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.inflight--
	p.sent = append(p.sent, now)
	if h == nil {
		p.wake()
		return
	}
	p.contact = true
	defer p.wake()
	if l, ok := headerInt(h, "X-RateLimit-Limit"); ok && l > 0 {
		p.limit = l
	}
	reset, hasReset := parseReset(h.Get("X-RateLimit-Reset"), now)
	rem, hasRem := headerInt(h, "X-RateLimit-Remaining")
	if status == http.StatusTooManyRequests {
		// Whatever Remaining says, the server refused: nothing is left
		// until its reset or Retry-After. A 429 that names neither is
		// left to the retry backoff.
		if !hasReset {
			if ra := parseRetryAfter(h.Get("Retry-After"), now); ra > 0 {
				reset, hasReset = now.Add(ra), true
			}
		}
		if !hasReset {
			return
		}
		rem, hasRem = 0, true
	}
	if !hasRem {
		return
	}
	if !reset.IsZero() && !reset.After(now) {
		return // an answer from a window that is already over
	}
	// Requests of ours still unanswered may not be in the server's count
	// yet: deduct them (at worst this wastes a few slots).
	left := max(0, rem-p.inflight)
	p.headers = true
	p.wake()
	switch {
	case !hasReset && !p.srvKnown:
		// Laravel sends no reset with a success. The window that
		// counted this request began at the latest when it arrived,
		// before this answer: it ends at the latest one window from now.
		p.srvKnown, p.srvRemaining, p.srvReset = true, left, now.Add(p.window)
	case !hasReset:
		p.srvRemaining = min(p.srvRemaining, left)
	case !p.srvKnown || reset.After(p.srvReset.Add(time.Second)):
		p.srvKnown, p.srvRemaining, p.srvReset = true, left, reset
	default:
		// The same window (resets differ by rounding): keep the later
		// end and the fewer requests left.
		p.srvRemaining = min(p.srvRemaining, left)
		if reset.After(p.srvReset) {
			p.srvReset = reset
		}
	}
}

// wake tells waiting senders that an answer arrived.
func (p *pacer) wake() {
	if p.answered != nil {
		close(p.answered)
		p.answered = nil
	}
}

// pause holds every attempt back for d.
func (p *pacer) pause(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := p.now().Add(d); until.After(p.pauseUntil) {
		p.pauseUntil = until
	}
}

func (p *pacer) paused() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pauseUntil.Sub(p.now())
}

// eta is how long sending n more requests takes from now at the current
// share, latency not counted: it plays the pacer's rules forward (at most
// one allowance in any window, nothing past what the server said remains
// before its reset, nothing during a pause) and returns when the last one
// would go.
func (p *pacer) eta(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.prune(now)
	a := p.allowance()
	start := now
	if p.pauseUntil.After(start) {
		start = p.pauseUntil
	}
	// seq is every send in the window, then the planned ones; the j-th
	// planned one goes when the one a sends earlier has aged out.
	seq := make([]time.Time, 0, len(p.sent)-p.head+p.inflight+n)
	seq = append(seq, p.sent[p.head:]...)
	for range p.inflight {
		seq = append(seq, now) // ending about now, latency not counted
	}
	srvLeft := -1
	if p.srvKnown && now.Before(p.srvReset) {
		srvLeft = p.srvRemaining
	}
	var last time.Time
	for range n {
		t := start
		if k := len(seq) - a; k >= 0 && seq[k].Add(p.window).After(t) {
			t = seq[k].Add(p.window)
		}
		if srvLeft >= 0 && t.Before(p.srvReset) {
			if srvLeft == 0 {
				t = p.srvReset
			} else {
				srvLeft--
			}
		}
		seq = append(seq, t)
		last = t
	}
	return last.Sub(now)
}

// perMinute is the current allowance per window and the limit it is a
// share of.
func (p *pacer) perMinute() (allowance, limit int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.allowance(), p.limit
}

func headerInt(h http.Header, name string) (int, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// parseReset reads X-RateLimit-Reset. Servers differ: Laravel and GitHub
// send a Unix time in seconds, others the seconds left. A value above
// 10^9 is taken as a Unix time, anything else as seconds from now
// (ASSUMED for Make, which does not document the header).
func parseReset(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false
	}
	if n > 1_000_000_000 {
		return time.Unix(n, 0), true
	}
	return now.Add(time.Duration(n) * time.Second), true
}

var errDeadlineBeforeSlot = errors.New("rate limiter: the deadline comes before the next send slot")
