package reconcile

import (
	"context"

	"github.com/syncd/syncd/internal/syncd"
)

// Failed records a run that could not start its work for a reason of
// syncd's own (out of file descriptors or memory while reading the
// manifests): run_started and run_finished with outcome "error", never a
// manifest_invalid, since nothing is known to be wrong with the manifests.
// It returns the run's id.
func (r *Runner) Failed(ctx context.Context, trigger string, mode syncd.Mode, revision string, cause error) string {
	run := syncd.NewRun(mode, r.Actor, revision)
	log := r.log().With("run_id", run.ID)
	ctx = context.WithoutCancel(ctx)
	started := r.now().UTC()
	if err := r.Store.StartRun(ctx, syncd.RunRecord{Run: run, Trigger: trigger, StartedAt: started}); err != nil {
		log.Warn("record run start", "error", err)
	}
	if err := r.record(ctx, run, syncd.EventRunStarted, syncd.Key{}, "", "", nil, "started", ""); err != nil {
		log.Error("record run start", "error", err)
	}
	if err := r.record(ctx, run, syncd.EventRunFinished, syncd.Key{}, "", "", nil, "error", cause.Error()); err != nil {
		log.Error("record run finish", "error", err)
	}
	if err := r.Store.FinishRun(ctx, syncd.RunRecord{Run: run, Trigger: trigger, StartedAt: started,
		FinishedAt: r.now().UTC(), Outcome: "error", Error: cause.Error()}); err != nil {
		log.Warn("record run finish", "error", err)
	}
	attrs := []any{"trigger", trigger, "mode", string(mode), "error", cause}
	if cp, ok, err := r.Store.WriteCheckpoint(ctx); err != nil {
		log.Warn("audit checkpoint not written", "error", err)
	} else if ok {
		attrs = append(attrs, "audit_checkpoint", cp.String())
	}
	log.Error("run failed", attrs...)
	return run.ID
}
