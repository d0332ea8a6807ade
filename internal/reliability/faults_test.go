package reliability

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/bench"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/executor"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// TestFaultMatrix applies a fleet through 10% 5xx, 5% 429, 2% timeouts and
// writes that succeed but answer 502, until the plan is empty; then counts
// objects on the emulator and audit rows against the executor's reports.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	n := pick(60, 500)
	f := bench.Fleet{Make: n / 2, Apps: 3, Patchworks: n - n/2}
	faults := emulator.Knobs{FailRate: 0.10, Rate429: 0.05, TimeoutRate: 0.02, FailAfterWriteRate: 0.05, DeleteLag: -1}
	e := testenv.New(t, testenv.Options{
		Knobs: faults, Concurrency: 8, Timeout: 250 * time.Millisecond,
		Retry: &transport.Retry{MaxAttempts: 8, BaseDelay: 5 * time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxRetryAfter: 2 * time.Second},
	})
	e.Emu.AddMakeApps(f.AppNames()...)
	if err := f.Write(e.Dir); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var applied, failed int
	converged := false
	for round := 1; round <= 6 && !converged; round++ {
		res, err := e.Reconcile(t, ctx, syncd.ModeApply, false)
		if err != nil {
			t.Logf("round %d: %v", round, err) // a failed observe: the next round tries again
			continue
		}
		for _, r := range res.Report.Results {
			switch r.Outcome {
			case executor.OutcomeApplied:
				applied++
			case executor.OutcomeFailed:
				failed++
			}
		}
		t.Logf("round %d: %+v; applied %d, failed %d", round, res.Plan.Summary, res.Report.Applied, res.Report.Failed)
		converged = !res.Plan.HasChanges()
	}
	if !converged {
		t.Fatalf("apply did not converge in 6 rounds through the faults")
	}

	// With the faults off, a fresh plan must agree: nothing to do.
	e.Emu.SetKnobs(emulator.Knobs{DeleteLag: -1})
	if p := e.Plan(t, false); p.HasChanges() {
		var b strings.Builder
		planner.WriteText(&b, p, false)
		t.Fatalf("plan without faults is not empty:\n%s", b.String())
	}
	byKey, dups := objects(e.Emu)
	if len(dups) > 0 {
		t.Errorf("duplicates on the platform: %v", dups)
	}
	if len(byKey) != f.Resources() {
		t.Errorf("%d objects on the platform, want %d", len(byKey), f.Resources())
	}

	rows := auditRows(t, e.DB)
	count := map[string]int{}
	recovered := 0
	for _, r := range rows {
		count[r.Type]++
		if r.Type == "change_applied" && strings.HasPrefix(r.Error, "recovered after restart") {
			recovered++
		}
	}
	if got := count["change_applied"] - recovered; got != applied {
		t.Errorf("change_applied rows (not recovered) = %d, executor reported %d applied", got, applied)
	}
	if got := count["change_failed"]; got != failed {
		t.Errorf("change_failed rows = %d, executor reported %d failed", got, failed)
	}
	if count["run_started"] != count["run_finished"] {
		t.Errorf("run_started %d != run_finished %d", count["run_started"], count["run_finished"])
	}
	checkWritesAnnounced(t, rows)
	if n := queryInt(t, e.DB, "SELECT count(*) - count(DISTINCT event_key) FROM audit_events"); n != 0 {
		t.Errorf("%d duplicated event keys", n)
	}
	c := e.Emu.Counts()
	t.Logf("objects %d; applied %d (+%d recovered), failed %d; requests: make %v, patchworks %v",
		len(byKey), applied, recovered, failed, c.Make.ByStatus, c.Patchworks.ByStatus)
}
