package watch

import (
	"context"
	"slices"
	"time"
)

// hint is one filtered filesystem event: a file that may have changed, or a
// request for a full rescan when the event does not say which files changed.
type hint struct {
	path string
	full bool
}

// burst is what accumulated between the first hint and the moment the burst
// settled. resync marks a periodic resync, which has no hints at all.
type burst struct {
	paths  map[string]struct{}
	full   bool
	resync bool
}

// timing holds the debounce intervals; see Options for their meaning.
type timing struct {
	quiet    time.Duration
	maxDelay time.Duration
	resync   time.Duration
}

// settleFunc turns a settled burst into the Change to report; false means
// there is nothing to report (a touch that did not change any content).
type settleFunc func(burst) (Change, bool)

// debounce is the clock-driven core of the watcher, apart from fsnotify so
// that it can be fed synthetic hints under a fake clock. A burst settles when
// no hint arrived for t.quiet, or t.maxDelay after its first hint, whichever
// comes first, so that a steady trickle of writes still gets reported.
// Settled changes wait in a single merged outbox until the receiver takes
// them: a slow receiver gets one Change, never a queue. debounce returns when
// ctx is done or in is closed.
func debounce(ctx context.Context, t timing, in <-chan hint, settle settleFunc, out chan<- Change) {
	var (
		pending          *burst
		first, last      time.Time
		timer            = time.NewTimer(time.Hour)
		timerArmed       bool
		outbox           *Change
		resyncC          <-chan time.Time
		settleAndEnqueue = func(b burst) {
			c, ok := settle(b)
			if !ok {
				return
			}
			if outbox == nil {
				outbox = &c
				return
			}
			merged := mergeChanges(*outbox, c)
			outbox = &merged
		}
	)
	timer.Stop()
	defer timer.Stop()
	if t.resync > 0 {
		ticker := time.NewTicker(t.resync)
		defer ticker.Stop()
		resyncC = ticker.C
	}

	for {
		var outC chan<- Change
		var next Change
		if outbox != nil {
			outC, next = out, *outbox
		}
		select {
		case <-ctx.Done():
			return
		case h, ok := <-in:
			if !ok {
				return
			}
			now := time.Now()
			if pending == nil {
				pending = &burst{paths: map[string]struct{}{}}
				first = now
			}
			last = now
			if h.full {
				pending.full = true
			}
			if h.path != "" {
				pending.paths[h.path] = struct{}{}
			}
			// Re-arming on every hint would cost a timer reset per event;
			// instead the timer fires once per quiet period and checks.
			if !timerArmed {
				timer.Reset(t.quiet)
				timerArmed = true
			}
		case <-timer.C:
			timerArmed = false
			if pending == nil {
				continue
			}
			now := time.Now()
			deadline := last.Add(t.quiet)
			if capped := first.Add(t.maxDelay); capped.Before(deadline) {
				deadline = capped
			}
			if wait := deadline.Sub(now); wait > 0 {
				timer.Reset(wait)
				timerArmed = true
				continue
			}
			b := *pending
			pending = nil
			settleAndEnqueue(b)
		case <-resyncC:
			settleAndEnqueue(burst{resync: true})
		case outC <- next:
			outbox = nil
		}
	}
}

// mergeChanges is the union of two changes: a receiver that reads late sees
// every path either of them named, and a full rescan if either asked for one.
func mergeChanges(a, b Change) Change {
	if len(a.Paths)+len(b.Paths) == 0 {
		return Change{Full: a.Full || b.Full}
	}
	paths := make([]string, 0, len(a.Paths)+len(b.Paths))
	paths = append(paths, a.Paths...)
	paths = append(paths, b.Paths...)
	slices.Sort(paths)
	return Change{Paths: slices.Compact(paths), Full: a.Full || b.Full}
}
