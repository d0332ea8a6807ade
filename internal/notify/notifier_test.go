package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/syncd"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	waitTimeout = 30 * time.Second
	testSecret  = "notify-signing-secret"
	// leaked must never reach a receiver: it stands for a secret value
	// in a field change.
	leaked = "s3cr3t-value-NOTIFY-never-send"
)

// call is one request a receiver got.
type call struct {
	body   []byte
	header http.Header
	status int
}

// receiver is a webhook endpoint that answers 500 while failing is set.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	failing atomic.Bool
	// onCall, when set, runs before the answer with the call's number
	// (1-based).
	onCall func(n int)

	mu    sync.Mutex
	calls []call
}

func newReceiver(t *testing.T, failing bool) *receiver {
	r := &receiver{t: t}
	r.failing.Store(failing)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("receiver: %v", err)
		}
		r.mu.Lock()
		n := len(r.calls) + 1
		r.mu.Unlock()
		if r.onCall != nil {
			r.onCall(n)
		}
		status := http.StatusOK
		if r.failing.Load() {
			status = http.StatusInternalServerError
		}
		r.mu.Lock()
		r.calls = append(r.calls, call{body: body, header: req.Header.Clone(), status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// delivered counts the accepted deliveries by event key.
func (r *receiver) delivered(key func(call) string) map[string]int {
	out := map[string]int{}
	for _, c := range r.all() {
		if c.status == http.StatusOK {
			out[key(c)]++
		}
	}
	return out
}

func webhookKey(c call) string {
	var n Notification
	_ = json.Unmarshal(c.body, &n)
	return n.EventKey
}

// slackKey identifies a Slack message by its text and context line (Slack
// messages carry no event key).
func slackKey(c call) string {
	var p slackPayload
	_ = json.Unmarshal(c.body, &p)
	if len(p.Blocks) == 0 || len(p.Blocks[len(p.Blocks)-1].Elements) == 0 {
		return "malformed: " + string(c.body)
	}
	return p.Text + " | " + p.Blocks[len(p.Blocks)-1].Elements[0].Text
}

// outboxDone reports whether the outbox holds n rows, all delivered.
func outboxDone(db *pgxpool.Pool, n int) bool {
	var rows, done int
	err := db.QueryRow(context.Background(), `select count(*), count(delivered_at) from notify_outbox`).Scan(&rows, &done)
	return err == nil && rows == n && done == n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openStore gives a test a migrated audit store on a fresh database.
func openStore(t *testing.T) (*audit.Store, string) {
	t.Helper()
	dsn := pgtest.Database(t)
	st, err := audit.Open(context.Background(), dsn, audit.Options{SpoolDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, dsn
}

func dbPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// started runs a notifier until stop is called (or the test ends).
type started struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t *testing.T, n *Notifier) *started {
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{cancel: cancel, done: make(chan struct{})}
	go func() { defer close(s.done); n.Run(ctx, "127.0.0.1:8080") }()
	t.Cleanup(s.stop)
	return s
}

func (s *started) stop() {
	s.cancel()
	<-s.done
}

func testOptions(dsn string, webhooks, slack []string) Options {
	return Options{
		DatabaseURL: dsn, Webhooks: webhooks, Slack: slack, Secret: []byte(testSecret),
		ConsoleURL: "https://syncd.example", Poll: 20 * time.Millisecond,
		RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Now: func() time.Time { return time.Now().Truncate(time.Microsecond) },
	}
}

// everyType records one audit event for each notification type (the
// stuck one as the stuck-resource work records it: change_failed with
// outcome stuck), plus events that notify nobody. Field changes carry a
// secret value, sensitive or not: only paths may leave.
func everyType(t *testing.T, st *audit.Store, at time.Time) map[string]Type {
	t.Helper()
	k := syncd.Key{Kind: syncd.MakeConnection, Name: "crm"}
	changes := []syncd.FieldChange{
		{Path: "/label", Before: "CRM", After: leaked},
		{Path: "/parameters/apiKey", Before: leaked, After: leaked, Sensitive: true},
	}
	ev := func(key string, typ syncd.EventType, outcome, errText string, key2 syncd.Key, ch []syncd.FieldChange) syncd.Event {
		return syncd.Event{ID: key, OccurredAt: at, RunID: "run-1", Type: typ, Kind: key2.Kind, Name: key2.Name,
			RemoteID: "crm-1", Action: "update", Changes: ch, Outcome: outcome, Error: errText,
			ManifestRevision: "abc123", Mode: syncd.ModeApply, Actor: "test"}
	}
	events := []syncd.Event{
		ev("e-run-started", syncd.EventRunStarted, "started", "", syncd.Key{}, nil),
		ev("e-drift-opened", syncd.EventDriftDetected, "open", "", k, changes),
		ev("e-planned", syncd.EventChangePlanned, "planned", "", k, changes),
		ev("e-applied", syncd.EventChangeApplied, "applied", "", k, changes),
		ev("e-failed", syncd.EventChangeFailed, "failed", "make: HTTP 400", k, changes),
		ev("e-stuck", syncd.EventChangeFailed, "stuck", "stuck: 3 attempts in a row", k, changes),
		ev("e-drift-resolved", syncd.EventDriftResolved, "reverted", "", k, changes),
		ev("e-run-ok", syncd.EventRunFinished, "ok", "", syncd.Key{}, nil),
		ev("e-run-error", syncd.EventRunFinished, "error", "make: GET /sdk/apps: HTTP 401", syncd.Key{}, nil),
	}
	for i := range events {
		if events[i].Kind == "" {
			events[i].RemoteID, events[i].Action = "", ""
		}
	}
	if err := st.Record(context.Background(), events...); err != nil {
		t.Fatal(err)
	}
	return map[string]Type{
		"e-drift-opened": DriftOpened, "e-failed": ChangeFailed, "e-stuck": ResourceStuck,
		"e-drift-resolved": DriftResolved, "e-run-error": RunFailed,
	}
}

// A receiver gets every event type, with a valid signature, exactly once
// per event key, although the first sender stopped after enqueueing and
// before any delivery succeeded (the receivers were failing): the outbox
// kept them for the next. Slack gets the same events; nothing sent holds a
// value.
func TestEveryEventOnceAcrossRestart(t *testing.T) {
	st, dsn := openStore(t)
	db := dbPool(t, dsn)
	hook, slack := newReceiver(t, true), newReceiver(t, true)
	opts := testOptions(dsn, []string{hook.srv.URL + "/hook"}, []string{slack.srv.URL + "/services/T0/B0/xoxb"})

	// History from before the sink existed is not sent.
	if err := st.Record(context.Background(), syncd.Event{ID: "e-old", OccurredAt: time.Now().Add(-time.Hour), Type: syncd.EventDriftDetected,
		Kind: syncd.MakeConnection, Name: "old", Outcome: "open"}); err != nil {
		t.Fatal(err)
	}

	n1, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	first := start(t, n1)
	want := everyType(t, st, time.Now())
	waitFor(t, "every event enqueued for both sinks and attempted once", func() bool {
		var c int
		err := db.QueryRow(context.Background(), `select count(*) from notify_outbox where attempts >= 1 and delivered_at is null`).Scan(&c)
		return err == nil && c == 2*len(want)
	})
	first.stop()

	hook.failing.Store(false)
	slack.failing.Store(false)
	n2, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	second := start(t, n2)
	waitFor(t, "every event delivered to both sinks, and the pending gauges at 0", func() bool {
		return outboxDone(db, 2*len(want)) && metric(t, n2, "pending", n2.Sinks()[0]) == 0 && metric(t, n2, "pending", n2.Sinks()[1]) == 0
	})
	second.stop()

	wantOnce := map[string]int{}
	for k := range want {
		wantOnce[k] = 1
	}
	if diff := cmp.Diff(wantOnce, hook.delivered(webhookKey)); diff != "" {
		t.Errorf("webhook deliveries by event key (-want +got):\n%s", diff)
	}
	for k, n := range slack.delivered(slackKey) {
		if n != 1 {
			t.Errorf("slack got %q %d times", k, n)
		}
	}
	gotTypes := map[string]Type{}
	for _, c := range hook.all() {
		if !Verify([]byte(testSecret), c.body, c.header.Get(SignatureHeader)) {
			t.Errorf("bad signature %q on %s", c.header.Get(SignatureHeader), c.body)
		}
		var n Notification
		if err := json.Unmarshal(c.body, &n); err != nil {
			t.Fatalf("webhook body: %v", err)
		}
		if c.header.Get("X-Syncd-Event-Key") != n.EventKey || c.header.Get("X-Syncd-Event") != string(n.Type) {
			t.Errorf("headers %v do not match the body's %s %s", c.header, n.Type, n.EventKey)
		}
		if n.Schema != Schema || n.RunID != "run-1" || n.Revision != "abc123" {
			t.Errorf("payload %s: schema, run id or revision missing", c.body)
		}
		if n.Resource != nil && n.Links.Resource != "https://syncd.example/resources/MakeConnection/crm" {
			t.Errorf("resource link %q", n.Links.Resource)
		}
		if n.Resource != nil && !slices.Equal(n.Fields, []string{"/label", "/parameters/apiKey"}) {
			t.Errorf("fields %v", n.Fields)
		}
		gotTypes[n.EventKey] = n.Type
	}
	if diff := cmp.Diff(want, gotTypes); diff != "" {
		t.Errorf("notification types by event key (-want +got):\n%s", diff)
	}
	for _, c := range slack.all() {
		var p slackPayload
		if err := json.Unmarshal(c.body, &p); err != nil || p.Text == "" || len(p.Blocks) < 2 {
			t.Errorf("slack body is not a message with blocks: %s", c.body)
		}
		if c.header.Get(SignatureHeader) != "" {
			t.Error("slack request carries the webhook signature")
		}
	}
	// Secret-leak scan of everything received, headers included.
	for _, c := range append(hook.all(), slack.all()...) {
		if strings.Contains(string(c.body), leaked) || strings.Contains(fmt.Sprint(c.header), leaked) {
			t.Errorf("a notification carries a secret value: %s", c.body)
		}
		if strings.Contains(string(c.body), testSecret) {
			t.Errorf("a notification carries the signing secret: %s", c.body)
		}
	}
	for _, id := range n2.Sinks() {
		if got := metric(t, n2, "delivered", id); got != float64(len(want)) {
			t.Errorf("%s delivered_total = %v, want %d", id, got, len(want))
		}
		if got := metric(t, n1, "failed", id); got < float64(len(want)) {
			t.Errorf("%s failed_total of the first sender = %v, want >= %d", id, got, len(want))
		}
	}
	// Metric labels and stored rows name sinks by hash, never by URL.
	var stored string
	if err := db.QueryRow(context.Background(), `select string_agg(sink || coalesce(last_error, ''), ' ') from notify_outbox`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "xoxb") || strings.Contains(stored, "/hook") {
		t.Errorf("the outbox stores a sink URL: %s", stored)
	}
}

// A failing receiver is retried with exponential backoff: after the k-th
// failure the row waits backoff(k) before its next attempt, and the same
// body goes out each time.
func TestRetriesWithBackoff(t *testing.T) {
	st, dsn := openStore(t)
	db := dbPool(t, dsn)
	hook := newReceiver(t, true)
	type state struct {
		attempts int
		wait     time.Duration
		lastErr  string
	}
	var (
		mu     sync.Mutex
		states []state
	)
	hook.onCall = func(n int) {
		if n == 4 {
			hook.failing.Store(false)
		}
		if n == 1 {
			return
		}
		// The row as the previous, failed attempt left it.
		var s state
		var last, next time.Time
		if err := db.QueryRow(context.Background(), `select attempts, last_attempt_at, next_attempt_at, coalesce(last_error, '') from notify_outbox`).
			Scan(&s.attempts, &last, &next, &s.lastErr); err != nil {
			t.Errorf("outbox row: %v", err)
		}
		s.wait = next.Sub(last)
		mu.Lock()
		states = append(states, s)
		mu.Unlock()
	}
	opts := testOptions(dsn, []string{hook.srv.URL}, nil)
	opts.RetryBase, opts.RetryMax = 40*time.Millisecond, 10*time.Second
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, n)
	if err := st.Record(context.Background(), syncd.Event{ID: "k1", OccurredAt: time.Now(), Type: syncd.EventRunFinished, Outcome: "error", Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fourth attempt to be accepted", func() bool { return outboxDone(db, 1) })
	s.stop()

	sinkID := "webhook-" + n.Sinks()[0][len("webhook-"):]
	wantErr := sinkID + " (" + strings.TrimPrefix(hook.srv.URL, "http://") + "): HTTP 500"
	want := []state{
		{1, 40 * time.Millisecond, wantErr},
		{2, 80 * time.Millisecond, wantErr},
		{3, 160 * time.Millisecond, wantErr},
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, states, cmp.AllowUnexported(state{})); diff != "" {
		t.Errorf("row before each retry (-want +got):\n%s", diff)
	}
	calls := hook.all()
	if len(calls) != 4 {
		t.Fatalf("receiver got %d calls, want 4", len(calls))
	}
	for _, c := range calls[1:] {
		if string(c.body) != string(calls[0].body) {
			t.Errorf("a retry sent another body:\n%s\n%s", c.body, calls[0].body)
		}
	}
	var attempts int
	var delivered bool
	if err := db.QueryRow(context.Background(), `select attempts, delivered_at is not null from notify_outbox`).Scan(&attempts, &delivered); err != nil {
		t.Fatal(err)
	}
	if attempts != 4 || !delivered {
		t.Errorf("row: attempts %d, delivered %v; want 4, true", attempts, delivered)
	}
	if got := metric(t, n, "failed", sinkID); got != 3 {
		t.Errorf("failed_total = %v, want 3", got)
	}
}

// Two replicas with the same sinks: one holds the notifier lock and
// sends; every event reaches the receiver once.
func TestTwoReplicasSendOnce(t *testing.T) {
	st, dsn := openStore(t)
	db := dbPool(t, dsn)
	hook := newReceiver(t, false)
	opts := testOptions(dsn, []string{hook.srv.URL}, nil)
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := start(t, a), start(t, b)
	waitFor(t, "one replica to hold the notifier lock", func() bool {
		return metric(t, a, "sender", "")+metric(t, b, "sender", "") == 1
	})
	want := map[string]int{}
	for i := range 20 {
		key := fmt.Sprintf("run-%d", i)
		want[key] = 1
		if err := st.Record(context.Background(), syncd.Event{ID: key, RunID: key, OccurredAt: time.Now(), Type: syncd.EventRunFinished, Outcome: "error"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "20 deliveries", func() bool { return outboxDone(db, len(want)) })
	sa.stop()
	sb.stop()
	if diff := cmp.Diff(want, hook.delivered(webhookKey)); diff != "" {
		t.Errorf("deliveries by event key (-want +got):\n%s", diff)
	}
}

// metric reads one of n's metrics (syncd_notify_NAME) for a sink ("" for
// the unlabelled gauge) as a scrape would.
func metric(t *testing.T, n *Notifier, name, sinkID string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(n)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	full := "syncd_notify_" + name
	if name == "delivered" || name == "failed" || name == "abandoned" {
		full += "_total"
	}
	for _, mf := range mfs {
		if mf.GetName() != full {
			continue
		}
		for _, m := range mf.GetMetric() {
			if sinkID == "" || len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == sinkID {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s{sink=%q}", full, sinkID)
	return 0
}

// A notification that cannot be delivered within MaxAge is abandoned:
// marked in the outbox, counted, and no longer pending.
func TestAbandonsAfterMaxAge(t *testing.T) {
	st, dsn := openStore(t)
	db := dbPool(t, dsn)
	hook := newReceiver(t, true)
	opts := testOptions(dsn, []string{hook.srv.URL}, nil)
	opts.MaxAge = time.Millisecond // the first retry would come later than that
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, n)
	if err := st.Record(context.Background(), syncd.Event{ID: "k1", OccurredAt: time.Now(), Type: syncd.EventRunFinished, Outcome: "error"}); err != nil {
		t.Fatal(err)
	}
	sinkID := n.Sinks()[0]
	waitFor(t, "the notification abandoned and counted", func() bool {
		var c int
		err := db.QueryRow(context.Background(), `select count(*) from notify_outbox where abandoned_at is not null and attempts = 1`).Scan(&c)
		return err == nil && c == 1 && metric(t, n, "abandoned", sinkID) == 1 && metric(t, n, "pending", sinkID) == 0
	})
	s.stop()
	if got := len(hook.all()); got != 1 {
		t.Errorf("receiver got %d attempts, want 1", got)
	}
}
