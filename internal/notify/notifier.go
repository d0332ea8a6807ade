package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// lockKey is the notifier's advisory lock, apart from the apply lock so
// that a daemon in report mode can send ("syncdn" in ASCII).
const lockKey int64 = 0x73796e63646e

// Options configure a Notifier.
type Options struct {
	DatabaseURL string
	// Webhooks get the JSON payload, signed with Secret; Slack URLs get
	// incoming-webhook messages.
	Webhooks []string
	Slack    []string
	Secret   []byte
	// ConsoleURL is the web console's base URL for links; "" uses the
	// daemon's listen address.
	ConsoleURL string
	Logger     *slog.Logger
	// Poll is how often the audit table and the outbox are read; default 1s.
	Poll time.Duration
	// RetryBase and RetryMax bound the backoff between attempts (defaults
	// 5s and 10m); after MaxAge (default 24h) a notification is abandoned.
	RetryBase, RetryMax, MaxAge time.Duration
	// Timeout bounds one POST; default 10s.
	Timeout time.Duration
	// Client sends the requests; default a client with Timeout.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Notifier reads audit events into the outbox and delivers them.
type Notifier struct {
	opts  Options
	log   *slog.Logger
	sinks []sink
	m     *metrics
	// created is when New ran: a sink seen for the first time is notified
	// of the audit events that occurred from then on.
	created time.Time
}

// New checks opts. It does not connect: Run does, and keeps trying while
// the database is down. A sink configured for the first time is sent the
// events that occur from New on, not the history before it.
func New(opts Options) (*Notifier, error) {
	if opts.DatabaseURL == "" {
		return nil, errors.New("notify: notifications need a database (SYNCD_DATABASE_URL) for their outbox")
	}
	if len(opts.Webhooks) > 0 && len(opts.Secret) == 0 {
		return nil, errors.New("notify: --notify-webhook needs SYNCD_NOTIFY_SECRET to sign the payloads")
	}
	n := &Notifier{opts: opts, log: opts.Logger}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.log = n.log.With("component", "notify")
	seen := map[string]bool{}
	add := func(kind sinkKind, urls []string) error {
		for _, u := range urls {
			s, err := newSink(kind, strings.TrimSpace(u))
			if err != nil {
				return err
			}
			if !seen[s.id] {
				seen[s.id] = true
				n.sinks = append(n.sinks, s)
			}
		}
		return nil
	}
	if err := add(kindWebhook, opts.Webhooks); err != nil {
		return nil, err
	}
	if err := add(kindSlack, opts.Slack); err != nil {
		return nil, err
	}
	if len(n.sinks) == 0 {
		return nil, errors.New("notify: no webhook or Slack URL configured")
	}
	if n.opts.Poll <= 0 {
		n.opts.Poll = time.Second
	}
	if n.opts.RetryBase <= 0 {
		n.opts.RetryBase = 5 * time.Second
	}
	if n.opts.RetryMax <= 0 {
		n.opts.RetryMax = 10 * time.Minute
	}
	if n.opts.MaxAge <= 0 {
		n.opts.MaxAge = 24 * time.Hour
	}
	if n.opts.Timeout <= 0 {
		n.opts.Timeout = 10 * time.Second
	}
	if n.opts.Client == nil {
		n.opts.Client = &http.Client{Timeout: n.opts.Timeout}
	}
	if n.opts.Now == nil {
		n.opts.Now = time.Now
	}
	n.m = newMetrics(n.sinks)
	n.created = n.opts.Now()
	return n, nil
}

// Sinks names the configured sinks as they appear in metrics and logs.
func (n *Notifier) Sinks() []string {
	out := make([]string, len(n.sinks))
	for i, s := range n.sinks {
		out[i] = s.id
	}
	return out
}

// backoff is the wait after the attempt-th failed attempt (1-based):
// base, 2 base, 4 base, … up to max.
func backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt; i++ {
		d *= 2
		if d >= max {
			return max
		}
	}
	return min(d, max)
}

// Run sends notifications until ctx is done. listenAddr is the daemon's
// bound address, the console's base when ConsoleURL is not set.
func (n *Notifier) Run(ctx context.Context, listenAddr string) {
	base := n.opts.ConsoleURL
	if base == "" {
		base = "http://" + listenAddr
	}
	r := &runner{n: n, base: base, started: n.created}
	defer r.close()
	for _, s := range n.sinks {
		n.log.Info("notifications on", "sink", s.id, "host", s.host)
	}
	t := time.NewTicker(n.opts.Poll)
	defer t.Stop()
	for {
		r.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runner is the state of one Run: its connections and whether it holds
// the lock. Only Run's goroutine touches it.
type runner struct {
	n       *Notifier
	base    string
	started time.Time
	pool    *pgxpool.Pool
	lock    *pgx.Conn
	holder  bool
	cursors bool // cursors initialised under this lock
	pruned  time.Time
}

func (r *runner) close() {
	if r.lock != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = r.lock.Close(cctx) // ending the session releases the lock
		cancel()
	}
	if r.pool != nil {
		r.pool.Close()
	}
	r.n.m.sender.Set(0)
}

// connect opens the pool and the lock connection when they are missing.
func (r *runner) connect(ctx context.Context) error {
	if r.pool == nil {
		cfg, err := pgxpool.ParseConfig(r.n.opts.DatabaseURL)
		if err != nil {
			return errors.New("invalid database URL")
		}
		cfg.MaxConns = 2
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return err
		}
		r.pool = p
	}
	if r.lock == nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := pgx.Connect(cctx, r.n.opts.DatabaseURL)
		cancel()
		if err != nil {
			return err
		}
		r.lock = c
	}
	return nil
}

// holdLock takes the notifier lock or checks that it is still held.
func (r *runner) holdLock(ctx context.Context) bool {
	if err := r.connect(ctx); err != nil {
		r.n.log.Debug("notifier database unreachable", "error", err)
		return false
	}
	var err error
	if r.holder {
		err = r.lock.Ping(ctx)
	} else {
		err = r.lock.QueryRow(ctx, "select pg_try_advisory_lock($1)", lockKey).Scan(&r.holder)
	}
	if err != nil {
		if r.holder && ctx.Err() == nil {
			r.n.log.Warn("notifier lock lost; another replica may send", "error", err)
		}
		r.holder, r.cursors = false, false
		r.lock.Close(context.WithoutCancel(ctx))
		r.lock = nil
	}
	r.n.m.sender.Set(b2f(r.holder))
	return r.holder
}

// pass does one round: enqueue new events, deliver what is due, refresh
// the pending gauge.
func (r *runner) pass(ctx context.Context) {
	if !r.holdLock(ctx) {
		return
	}
	o := outbox{pool: r.pool}
	now := r.n.opts.Now()
	if !r.cursors {
		for _, s := range r.n.sinks {
			if err := o.initCursor(ctx, s.id, r.started, now); err != nil {
				r.n.log.Warn("notifier", "error", err)
				return
			}
		}
		r.cursors = true
	}
	for _, s := range r.n.sinks {
		for more := true; more && ctx.Err() == nil; {
			var err error
			_, more, err = o.enqueue(ctx, s, r.base, r.n.opts.Now())
			if err != nil {
				r.n.log.Warn("notifier: enqueue", "sink", s.id, "error", err)
				break
			}
		}
	}
	for _, s := range r.n.sinks {
		r.deliver(ctx, o, s)
	}
	if p, err := o.pending(ctx); err == nil {
		for _, s := range r.n.sinks {
			r.n.m.pending.WithLabelValues(s.id).Set(float64(p[s.id]))
		}
	}
	if now.Sub(r.pruned) > time.Hour {
		if err := o.prune(ctx, now.Add(-7*24*time.Hour)); err == nil {
			r.pruned = now
		}
	}
}

// maxPerPass bounds the deliveries to one sink in one pass, so that a
// busy sink does not starve the others.
const maxPerPass = 50

// deliver sends a sink's due rows oldest first; the first failure ends
// the sink's turn (it is likely down).
func (r *runner) deliver(ctx context.Context, o outbox, s sink) {
	n := r.n
	for range maxPerPass {
		if ctx.Err() != nil {
			return
		}
		now := n.opts.Now()
		it, err := o.claim(ctx, s.id, now, now.Add(n.opts.Timeout+30*time.Second))
		if err != nil {
			n.log.Warn("notifier", "error", err)
			return
		}
		if it == nil {
			return
		}
		// A send in flight is finished, not cut off, when shutdown begins:
		// cutting it would count a delivered notification as failed and
		// send it again after the restart.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.opts.Timeout)
		serr := s.send(sctx, n.opts.Client, n.opts.Secret, it.typ, it.key, it.body)
		cancel()
		// The outcome is written even when shutdown began meanwhile.
		wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		done := n.opts.Now()
		if serr == nil {
			err = o.delivered(wctx, it, done)
			n.m.delivered.WithLabelValues(s.id).Inc()
			n.log.Debug("notification delivered", "sink", s.id, "event_key", it.key, "type", it.typ)
		} else {
			attempts := it.attempts + 1
			next := done.Add(backoff(attempts, n.opts.RetryBase, n.opts.RetryMax))
			abandon := next.Sub(it.createdAt) > n.opts.MaxAge
			err = o.failed(wctx, it, done, next, serr.Error(), abandon)
			n.m.failed.WithLabelValues(s.id).Inc()
			if abandon {
				n.m.abandoned.WithLabelValues(s.id).Inc()
				n.log.Error("notification abandoned", "sink", s.id, "event_key", it.key, "type", it.typ, "attempts", attempts, "error", serr)
			} else {
				n.log.Warn("notification not delivered; will retry", "sink", s.id, "event_key", it.key, "type", it.typ,
					"attempts", attempts, "retry_at", next.UTC().Format(time.RFC3339), "error", serr)
			}
		}
		wcancel()
		if err != nil {
			n.log.Warn("notifier: record delivery outcome", "sink", s.id, "error", err)
			return
		}
		if serr != nil {
			return
		}
	}
}

// metrics are the notifier's own collectors, registered by the daemon in
// its private registry.
type metrics struct {
	delivered, failed, abandoned *prometheus.CounterVec
	pending                      *prometheus.GaugeVec
	sender                       prometheus.Gauge
}

func newMetrics(sinks []sink) *metrics {
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncd_notify_delivered_total", Help: "Notifications delivered (HTTP 2xx), by sink.",
		}, []string{"sink"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncd_notify_failed_total", Help: "Failed delivery attempts (each retried with backoff), by sink.",
		}, []string{"sink"}),
		abandoned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncd_notify_abandoned_total", Help: "Notifications given up after their maximum age, by sink.",
		}, []string{"sink"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "syncd_notify_pending", Help: "Notifications in the outbox not delivered yet, by sink.",
		}, []string{"sink"}),
		sender: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncd_notify_sender", Help: "1 when this replica holds the notifier lock and sends.",
		}),
	}
	for _, s := range sinks {
		m.delivered.WithLabelValues(s.id)
		m.failed.WithLabelValues(s.id)
		m.abandoned.WithLabelValues(s.id)
		m.pending.WithLabelValues(s.id)
	}
	return m
}

// Describe and Collect make a Notifier a prometheus.Collector.
func (n *Notifier) Describe(ch chan<- *prometheus.Desc) {
	n.m.delivered.Describe(ch)
	n.m.failed.Describe(ch)
	n.m.abandoned.Describe(ch)
	n.m.pending.Describe(ch)
	n.m.sender.Describe(ch)
}

func (n *Notifier) Collect(ch chan<- prometheus.Metric) {
	n.m.delivered.Collect(ch)
	n.m.failed.Collect(ch)
	n.m.abandoned.Collect(ch)
	n.m.pending.Collect(ch)
	n.m.sender.Collect(ch)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var _ prometheus.Collector = (*Notifier)(nil)

// String is for log lines: the sinks by id, never their URLs.
func (n *Notifier) String() string { return fmt.Sprintf("notify%v", n.Sinks()) }
