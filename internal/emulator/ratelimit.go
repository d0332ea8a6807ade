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
