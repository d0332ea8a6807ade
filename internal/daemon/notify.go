package daemon

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Notifier sends notifications of audit events from its own goroutine
// (internal/notify). It reads the audit table, so the reconcile loop never
// calls it and never waits for it.
type Notifier interface {
	// Run sends until ctx is done; listenAddr is the bound HTTP address
	// ("" without one), the console's base for links.
	Run(ctx context.Context, listenAddr string)
	prometheus.Collector
}

// startNotifier runs the notifier on the background context, which
// outlives the last reconcile, and registers its metrics.
func (d *Daemon) startNotifier(bg context.Context, wg *sync.WaitGroup, listenAddr string) {
	n := d.opts.Notifier
	if n == nil {
		return
	}
	d.metrics.reg.MustRegister(n)
	wg.Go(func() { n.Run(bg, listenAddr) })
}
