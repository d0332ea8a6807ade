package reconcile_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/syncd"
)

// logged collects the records a runner logs.
type logged struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logged) Enabled(context.Context, slog.Level) bool { return true }
func (l *logged) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}
func (l *logged) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logged) WithGroup(string) slog.Handler      { return l }

// alarms lists the warnings and errors logged, as "LEVEL message".
func (l *logged) alarms() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if r.Level >= slog.LevelWarn {
			out = append(out, fmt.Sprintf("%s %s", r.Level, r.Message))
		}
	}
	return out
}

// TestHealthyRunsRaiseNoAlarm: operators alert on warnings and errors, so a
// run whose store, platform and journal all work logs none — in each mode,
// with a create, an update and a recovered intent — and a run that could
// not start logs exactly its one error.
func TestHealthyRunsRaiseNoAlarm(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    syncd.Mode
		live    bool
		pending bool
	}{
		{name: "apply creates", mode: syncd.ModeApply},
		{name: "apply updates drift", mode: syncd.ModeApply, live: true},
		{name: "apply recovers an intent", mode: syncd.ModeApply, pending: true},
		{name: "report", mode: syncd.ModeReport, live: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &connectors{objects: map[string]map[string]any{}}
			b := newBooks()
			if tc.live {
				p.objects["7"] = liveShop(t, "Asia/Tokyo")
				b.bindings[shopKey] = syncd.Binding{Key: shopKey, RemoteID: "7"}
			}
			if tc.pending {
				p.objects["9"] = liveShop(t, "UTC")
				b.pending = []syncd.Intent{{ID: 5, Key: shopKey, NaturalKey: "shop", Action: "create", State: syncd.IntentPending}}
			}
			r := newRunner(p, b)
			l := &logged{}
			r.Logger = slog.New(l)
			if _, err := r.Once(context.Background(), reconcile.Request{Trigger: "test", Mode: tc.mode,
				Set: load(t, map[string]string{"shop.yaml": connectorDoc("shop", "UTC")})}); err != nil {
				t.Fatal(err)
			}
			if got := l.alarms(); len(got) != 0 {
				t.Errorf("a healthy run logged %q, want no warning or error", got)
			}
		})
	}

	t.Run("failed run", func(t *testing.T) {
		b := newBooks()
		r := newRunner(&connectors{objects: map[string]map[string]any{}}, b)
		l := &logged{}
		r.Logger = slog.New(l)
		r.Failed(context.Background(), "watch", syncd.ModeApply, "rev1", fmt.Errorf("too many open files"))
		if got, want := l.alarms(), []string{"ERROR run failed"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("a run that could not start logged %q, want %q", got, want)
		}
	})
}
