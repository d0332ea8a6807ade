package daemon_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/notify"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// hookReceiver records what a webhook endpoint is sent; it answers 500
// while failing is set.
type hookReceiver struct {
	srv     *httptest.Server
	failing atomic.Bool
	mu      sync.Mutex
	got     []hookCall
}

type hookCall struct {
	body      []byte
	signature string
	ok        bool
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.failing.Store(true)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ok := !h.failing.Load()
		h.mu.Lock()
		h.got = append(h.got, hookCall{body: body, signature: r.Header.Get(notify.SignatureHeader), ok: ok})
		h.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) calls() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookCall(nil), h.got...)
}

// A daemon over the emulator notifies a webhook and Slack of a failed run
// and of a drift opened and resolved. The receivers fail until the daemon
// is stopped, so every notification is enqueued and none delivered; after
// a restart each arrives exactly once, signed, with links into the
// console, and without a secret.
func TestNotificationsAcrossDaemonRestart(t *testing.T) {
	const secret = "daemon-notify-secret"
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	applyAll(t, env)
	db := pool(t, env)
	hook, slack := newHookReceiver(t), newHookReceiver(t)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	newNotifier := func() *notify.Notifier {
		n, err := notify.New(notify.Options{
			DatabaseURL: env.DB, Webhooks: []string{hook.srv.URL}, Slack: []string{slack.srv.URL + "/services/T/B/x"},
			Secret: []byte(secret), Logger: logger, Poll: 50 * time.Millisecond, RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The platform answers 500 to everything when the daemon starts: its
	// first run fails.
	env.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.FailRate = 1 })
	first := startDaemon(t, env, daemon.Options{Schedule: "@every 1s", Notifier: newNotifier(), Logger: logger})
	waitFor(t, "a failed run", func() bool {
		return count(t, db, `select count(*) from audit_events where event_type = 'run_finished' and outcome = 'error'`) > 0
	})
	env.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.FailRate = 0 })
	id := remoteID(t, db, syncd.MakeConnection, "alpha")
	editLabel(t, env.Emu, id, "Alpha (edited by hand)")
	waitFor(t, "drift detected", func() bool {
		return count(t, db, `select count(*) from audit_events where event_type = 'drift_detected'`) == 1
	})
	editLabel(t, env.Emu, id, "Alpha")
	waitFor(t, "drift resolved", func() bool {
		return count(t, db, `select count(*) from audit_events where event_type = 'drift_resolved'`) == 1
	})
	waitFor(t, "the three notifications tried for both sinks", func() bool {
		return count(t, db, `select count(distinct notification) from notify_outbox where attempts >= 1 and delivered_at is null`) == 3 &&
			count(t, db, `select count(*) from notify_outbox where attempts >= 1 and delivered_at is null`) == 6
	})
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	failedRun := count(t, db, `select count(*) from audit_events where event_type = 'run_finished' and outcome = 'error'`)

	hook.failing.Store(false)
	slack.failing.Store(false)
	second := startDaemon(t, env, daemon.Options{Schedule: "@every 1s", Notifier: newNotifier(), Logger: logger})
	want := 2 + failedRun // drift opened and resolved, and each failed run
	waitFor(t, "every notification delivered", func() bool {
		return count(t, db, `select count(*) from notify_outbox where delivered_at is not null`) == 2*want &&
			count(t, db, `select count(*) from notify_outbox`) == 2*want
	})
	_, metrics := second.get(t, "/metrics")
	if !strings.Contains(metrics, "syncd_notify_delivered_total{sink=\"webhook-") || !strings.Contains(metrics, "syncd_notify_sender 1") {
		t.Errorf("/metrics lacks the notifier's metrics:\n%s", grepLines(metrics, "syncd_notify"))
	}

	byKey := map[string]int{}
	types := map[notify.Type]int{}
	for _, c := range hook.calls() {
		if !notify.Verify([]byte(secret), c.body, c.signature) {
			t.Errorf("bad signature %q on %s", c.signature, c.body)
		}
		if !c.ok {
			continue
		}
		var n notify.Notification
		if err := json.Unmarshal(c.body, &n); err != nil {
			t.Fatal(err)
		}
		byKey[n.EventKey]++
		types[n.Type]++
		if n.Type == notify.DriftOpened && !cmp.Equal(n.Fields, []string{"/label"}) {
			t.Errorf("drift opened fields = %v, want [/label]", n.Fields)
		}
		// Links are built on the daemon's listen address, and the pages
		// they name exist (asked of the running daemon: the first one,
		// which built them, is gone).
		for _, link := range []string{n.Links.Console, n.Links.Resource, n.Links.Runs, n.Links.Drift} {
			if link == "" {
				continue
			}
			u, err := url.Parse(link)
			if err != nil || u.Scheme != "http" || u.Host == "" {
				t.Errorf("link %q is not an absolute console URL", link)
				continue
			}
			if code, _ := second.get(t, u.EscapedPath()); code != http.StatusOK {
				t.Errorf("link %s: the console answers %d", link, code)
			}
		}
	}
	if err := second.stop(); err != nil {
		t.Fatal(err)
	}
	for k, n := range byKey {
		if n != 1 {
			t.Errorf("event %s delivered %d times", k, n)
		}
	}
	if diff := cmp.Diff(map[notify.Type]int{notify.RunFailed: failedRun, notify.DriftOpened: 1, notify.DriftResolved: 1}, types); diff != "" {
		t.Errorf("webhook deliveries by type (-want +got):\n%s", diff)
	}
	delivered := 0
	for _, c := range slack.calls() {
		if c.ok {
			delivered++
		}
		noSecrets(t, "slack message", string(c.body), secret)
	}
	if delivered != want {
		t.Errorf("slack got %d messages, want %d", delivered, want)
	}
	for _, c := range hook.calls() {
		noSecrets(t, "webhook payload", string(c.body), secret)
	}
	var stored string
	if err := db.QueryRow(context.Background(), `select coalesce(string_agg(convert_from(body, 'UTF8') || coalesce(last_error, ''), ' '), '') from notify_outbox`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	noSecrets(t, "notify_outbox", stored, secret)
	// Logs name sinks by hash: the Slack URL is a credential.
	if !strings.Contains(logs.String(), "notification not delivered; will retry") {
		t.Errorf("the log does not show the failed attempts:\n%s", grepLines(logs.String(), "notif"))
	}
	noSecrets(t, "daemon log", logs.String(), secret, "/services/T/B/x")
}
