package emulator

import (
	"math"
	"time"
)

// bucket is a token bucket on an injected clock, so tests can step time
// instead of sleeping.
type bucket struct {
	tokens float64
	last   time.Time
	primed bool
}

// take spends one token when it can; otherwise it says how many whole
// seconds until one is available (at least 1), which becomes Retry-After.
func (b *bucket) take(now time.Time, perMinute int) (ok bool, retryAfter int) {
	rate := float64(perMinute) / 60 // tokens per second
	burst := math.Max(1, rate)
	if !b.primed {
		b.tokens, b.last, b.primed = burst, now, true
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(burst, b.tokens+elapsed*rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := int(math.Ceil((1 - b.tokens) / rate))
	return false, max(1, wait)
}

// state is what the bucket holds after the last take: the requests left
// (whole tokens) and when it is full again, for X-RateLimit-* headers.
func (b *bucket) state(perMinute int) (remaining int, reset time.Time) {
	rate := float64(perMinute) / 60
	burst := math.Max(1, rate)
	missing := burst - b.tokens
	return int(b.tokens), b.last.Add(time.Duration(missing / rate * float64(time.Second)))
}

// fixedWindow counts requests per fixed window, as Laravel's throttle
// does (and, ASSUMED, Make): the window opens at the first request after
// the previous one ended and admits limit requests.
type fixedWindow struct {
	start time.Time
	count int
}

// take admits one request when the window has room; otherwise it says how
// many whole seconds until the window ends (at least 1).
func (f *fixedWindow) take(now time.Time, limit int, length time.Duration) (ok bool, retryAfter int) {
	if f.start.IsZero() || !now.Before(f.start.Add(length)) {
		f.start, f.count = now, 0
	}
	if f.count < limit {
		f.count++
		return true, 0
	}
	wait := int(math.Ceil(f.start.Add(length).Sub(now).Seconds()))
	return false, max(1, wait)
}

// state is the requests left in the window and its end.
func (f *fixedWindow) state(limit int, length time.Duration) (remaining int, reset time.Time) {
	return max(0, limit-f.count), f.start.Add(length)
}
