package transport

import (
	"context"
	"sync"
	"time"
)

// Spread paces the requests of one run evenly over a period, per platform,
// on top of the client's own pacing: a daemon's scheduled drift scan uses
// it so that its reads take the schedule interval instead of the quota's
// first seconds, leaving the rest of each minute to the organisation's
// other users.
type Spread struct {
	mu   sync.Mutex
	now  func() time.Time
	gap  map[string]time.Duration // platform -> time between sends
	want map[string]int64         // platform -> sends spread; later ones are not
	sent map[string]int64
	next map[string]time.Time
}

// NewSpread spreads expected[platform] requests over period for each
// platform; a platform without an expected count is not spread. Requests
// beyond the expected count are not held (only paced as usual), so a scan
// that grew since it was sized still ends about one period after it began.
func NewSpread(period time.Duration, expected map[string]int64) *Spread {
	s := &Spread{now: time.Now, gap: map[string]time.Duration{}, want: map[string]int64{},
		sent: map[string]int64{}, next: map[string]time.Time{}}
	for p, n := range expected {
		if n > 1 && period > 0 {
			s.gap[p], s.want[p] = period/time.Duration(n), n
		}
	}
	return s
}

// Gap is the time between two sends of platform (0: not spread).
func (s *Spread) Gap(platform string) time.Duration {
	if s == nil {
		return 0
	}
	return s.gap[platform]
}

type spreadKey struct{}

// WithSpread returns a context whose requests are spread by s.
func WithSpread(ctx context.Context, s *Spread) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, spreadKey{}, s)
}

// SpreadFrom is the Spread of ctx, nil when its requests are not spread.
func SpreadFrom(ctx context.Context) *Spread {
	s, _ := ctx.Value(spreadKey{}).(*Spread)
	return s
}

// wait holds the caller until platform's next slot.
func (s *Spread) wait(ctx context.Context, platform string) error {
	gap := s.gap[platform]
	if gap <= 0 {
		return nil
	}
	s.mu.Lock()
	s.sent[platform]++
	if s.sent[platform] > s.want[platform] {
		s.mu.Unlock()
		return nil
	}
	now := s.now()
	at := s.next[platform]
	if at.Before(now) {
		at = now
	}
	s.next[platform] = at.Add(gap)
	s.mu.Unlock()
	d := at.Sub(now)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
