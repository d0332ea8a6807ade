package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/syncd"
)

// metrics live in a private registry: no package-level state.
type metrics struct {
	reg          *prometheus.Registry
	runs         *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	requests     *requestsCollector
	openDrifts   prometheus.Gauge
	stuck        prometheus.Gauge
	spoolDepth   prometheus.GaugeFunc
	lastSuccess  prometheus.Gauge
	leader       prometheus.Gauge
	spoolDepthFn func() float64
	coverageMetrics
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syncd_runs_total", Help: "Reconcile runs by trigger and outcome.",
	}, []string{"trigger", "outcome"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "syncd_run_duration_seconds", Help: "Duration of reconcile runs.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
	}, []string{"trigger"})
	m.requests = &requestsCollector{desc: prometheus.NewDesc("syncd_api_requests_total",
		"Platform API requests by platform and HTTP status (0: no response).", []string{"platform", "status"}, nil)}
	m.openDrifts = prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_open_drifts", Help: "Drifts detected and not yet resolved."})
	m.stuck = prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_stuck_resources", Help: "Resources no longer retried: their change failed or was not effective 3 times in a row with the same desired and live state."})
	m.lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "syncd_last_successful_scan_timestamp_seconds", Help: "Unix time of the last full scan that finished without error.",
	})
	m.leader = prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_leader", Help: "1 when this replica holds the apply lock."})
	m.spoolDepthFn = func() float64 { return 0 }
	m.spoolDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "syncd_audit_spool_depth", Help: "Audit events waiting in the local spool for the database.",
	}, func() float64 { return m.spoolDepthFn() })
	m.newCoverageMetrics()
	m.reg.MustRegister(m.runs, m.duration, m.requests, m.openDrifts, m.stuck, m.lastSuccess, m.leader, m.spoolDepth,
		m.managed, m.unmanaged, m.coverage,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observeRun(trigger, outcome string, d time.Duration) {
	m.runs.WithLabelValues(trigger, outcome).Inc()
	m.duration.WithLabelValues(trigger).Observe(d.Seconds())
}

// requestsCollector reports the platform clients' own cumulative request
// counts when scraped: reads and writes alike, including those of a run
// still in flight (a run's Result only carries its planning reads).
type requestsCollector struct {
	desc  *prometheus.Desc
	stats func() []platform.Stats
}

func (c *requestsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *requestsCollector) Collect(ch chan<- prometheus.Metric) {
	if c.stats == nil {
		return
	}
	for _, s := range c.stats() {
		for code, n := range s.ByStatus {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), s.Platform, strconv.Itoa(code))
		}
	}
}

func (d *Daemon) handler() http.Handler {
	if d.opts.Store != nil {
		st := d.opts.Store
		d.metrics.spoolDepthFn = func() float64 { return float64(st.SpoolDepth()) }
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		ready := d.ready
		d.mu.Unlock()
		if !ready {
			http.Error(w, "first reconcile not finished", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		s := d.status
		d.mu.Unlock()
		s.Leader = d.IsLeader()
		if d.opts.Store != nil {
			s.SpoolDepth = d.opts.Store.SpoolDepth()
		}
		s.FullScan = d.fullScan()
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s)
	})
	mux.Handle("/", d.consoleHandler()) // the web console (internal/console)
	return mux
}

// refreshStatus records the finished run for /v1/status and the gauges.
func (d *Daemon) refreshStatus(ctx context.Context, t trigger, mode syncd.Mode, started time.Time, elapsed time.Duration, res *reconcile.Result, err error, scope []syncd.Key) {
	rs := &RunStatus{Trigger: t.reason, Mode: string(mode), StartedAt: started.UTC(), FinishedAt: started.Add(elapsed).UTC(), Outcome: "ok", Scope: len(scope)}
	if err != nil {
		rs.Outcome, rs.Error = "error", err.Error()
	}
	var drifts []DriftStatus
	if d.opts.Store != nil {
		if open, derr := d.opts.Store.OpenDrifts(ctx); derr == nil {
			for _, o := range open {
				ds := DriftStatus{Resource: o.Key.String(), RemoteID: o.RemoteID, FirstSeen: o.FirstSeen, LastSeen: o.LastSeen, Fields: []string{}}
				for _, f := range o.Fields {
					ds.Fields = append(ds.Fields, f.Path)
				}
				drifts = append(drifts, ds)
			}
			d.metrics.openDrifts.Set(float64(len(open)))
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if res != nil {
		rs.ID = res.RunID
		rs.Applied, rs.Failed = res.Report.Applied, res.Report.Failed
		if res.Report.Failed > 0 {
			rs.Outcome = "failed"
		}
		if res.Plan != nil {
			sum := res.Plan.Summary
			d.status.Summary = &sum
			if res.Plan.Coverage != nil {
				d.status.Coverage = d.metrics.observeCoverage(res.Plan.Coverage)
			}
		}
	}
	d.status.LastRun = rs
	if drifts == nil {
		drifts = []DriftStatus{}
	}
	d.status.OpenDrifts = drifts
	stuck := []reconcile.Stuck{}
	if d.opts.Runner != nil {
		stuck = append(stuck, d.opts.Runner.Stuck()...)
	}
	d.status.Stuck = stuck
	d.metrics.stuck.Set(float64(len(stuck)))
	if err == nil && scope == nil {
		now := started.Add(elapsed).UTC()
		d.status.LastSuccess = &now
		d.metrics.lastSuccess.Set(float64(now.Unix()))
	}
	d.ready = true
}
