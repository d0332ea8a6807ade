package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

// auditCmd queries (the default) or verifies the audit log.
type auditCmd struct {
	Show       auditShowCmd       `cmd:"" default:"withargs" help:"List audit events (the default: syncd audit [--since DUR] [--resource KIND/NAME])."`
	Verify     auditVerifyCmd     `cmd:"" help:"Check the audit log's hash chain against the audit key and the checkpoints kept outside the database; exit 1 naming the first broken row. Read-only. Reads SYNCD_DATABASE_URL, SYNCD_AUDIT_KEY or SYNCD_AUDIT_KEY_FILE, SYNCD_CHECKPOINT_DIR."`
	Checkpoint auditCheckpointCmd `cmd:"" help:"Print a signed head of the audit chain (row id, row hash, time) to keep outside the database: in git, a ticket, a log. Reads SYNCD_DATABASE_URL, SYNCD_AUDIT_KEY or SYNCD_AUDIT_KEY_FILE."`
}

type auditShowCmd struct {
	databaseFlag
	Since    sinceDuration `name:"since" placeholder:"DUR" help:"Only events of the last DUR (e.g. 30m, 24h, 1d, 2w)."`
	Resource string        `name:"resource" placeholder:"KIND/NAME" help:"Only events about this resource."`
	Limit    int           `name:"limit" default:"0" help:"Only the newest N events (0: all)."`
	Format   string        `name:"format" enum:"text,json" default:"text" help:"Output format: text or json."`

	out io.Writer        `kong:"-"`
	now func() time.Time `kong:"-"`
}

func (c *auditShowCmd) Run(ctx context.Context, g *Globals) error {
	var f audit.Filter
	if c.Resource != "" {
		key, err := syncd.ParseKey(c.Resource, registry.Kinds())
		if err != nil {
			return err
		}
		f.Key = &key
	}
	if c.Since < 0 {
		return fmt.Errorf("--since %s: want a positive duration", time.Duration(c.Since))
	}
	if c.Since > 0 {
		now := time.Now
		if c.now != nil {
			now = c.now
		}
		f.Since = now().Add(-time.Duration(c.Since))
	}
	f.Limit = c.Limit
	store, err := c.openReader(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	events, err := store.Events(ctx, f)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeEventsJSON(writerOr(c.out), events)
	}
	return writeEventsText(writerOr(c.out), events)
}

// eventJSON is the stable JSON shape of an audit row (the table's columns).
type eventJSON struct {
	ID               int64               `json:"id"`
	EventKey         string              `json:"event_key"`
	OccurredAt       time.Time           `json:"occurred_at"`
	RunID            string              `json:"run_id"`
	EventType        string              `json:"event_type"`
	ResourceKind     string              `json:"resource_kind"`
	ResourceName     string              `json:"resource_name"`
	RemoteID         string              `json:"remote_id"`
	Action           string              `json:"action"`
	Changes          []syncd.FieldChange `json:"changes"`
	Outcome          string              `json:"outcome"`
	Error            string              `json:"error"`
	ManifestRevision string              `json:"manifest_revision"`
	Mode             string              `json:"mode"`
	Actor            string              `json:"actor"`
}

func writeEventsJSON(w io.Writer, events []audit.StoredEvent) error {
	out := struct {
		FormatVersion int         `json:"format_version"`
		Events        []eventJSON `json:"events"`
	}{FormatVersion: 1, Events: make([]eventJSON, len(events))}
	for i, se := range events {
		e := se.Event
		changes := e.Changes
		if changes == nil {
			changes = []syncd.FieldChange{}
		}
		out.Events[i] = eventJSON{
			ID: se.RowID, EventKey: e.ID, OccurredAt: e.OccurredAt.UTC(), RunID: e.RunID,
			EventType: string(e.Type), ResourceKind: string(e.Kind), ResourceName: e.Name, RemoteID: e.RemoteID,
			Action: e.Action, Changes: changes, Outcome: e.Outcome, Error: e.Error,
			ManifestRevision: e.ManifestRevision, Mode: string(e.Mode), Actor: e.Actor,
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeEventsText(w io.Writer, events []audit.StoredEvent) error {
	if len(events) == 0 {
		_, err := fmt.Fprintln(w, "No audit events.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tRESOURCE\tREMOTE ID\tACTION\tOUTCOME\tRUN\tCHANGED\tERROR")
	for _, se := range events {
		e := se.Event
		resource := ""
		if e.Kind != "" || e.Name != "" {
			resource = syncd.Key{Kind: e.Kind, Name: e.Name}.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			e.OccurredAt.UTC().Format(time.RFC3339), e.Type, dash(resource), dash(e.RemoteID), dash(e.Action),
			dash(e.Outcome), dash(e.RunID), dash(changedPaths(e.Changes)), dash(oneLine(e.Error)))
	}
	return tw.Flush()
}

type auditVerifyCmd struct {
	databaseFlag
	auditKeyFlag
	Checkpoint []string `name:"checkpoint" placeholder:"LINE|FILE" help:"A checkpoint line (from syncd audit checkpoint or a run's log) or a file of them; repeatable. The checkpoint directory is always read."`

	out io.Writer `kong:"-"`
}

func (c *auditVerifyCmd) Run(ctx context.Context, g *Globals) error {
	store, err := c.openReader(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	key, err := c.key()
	if err != nil {
		return err
	}
	var cps []audit.Checkpoint
	files := []string{c.CheckpointDir}
	for _, arg := range c.Checkpoint {
		if strings.Contains(arg, "syncd-audit-checkpoint/") {
			cp, err := audit.ParseCheckpoint(key, arg)
			if err != nil {
				return fmt.Errorf("--checkpoint: %w", err)
			}
			cps = append(cps, cp)
			continue
		}
		if _, err := os.Stat(arg); err != nil {
			return fmt.Errorf("--checkpoint %s: %w", arg, err)
		}
		if key != nil {
			// A file given by hand must hold a checkpoint: one that holds
			// none would otherwise verify as if it had matched.
			got, err := audit.ReadCheckpoints(key, arg)
			if err != nil {
				return err
			}
			if len(got) == 0 {
				return fmt.Errorf("--checkpoint %s: no checkpoint line in it (want lines as syncd audit checkpoint prints them)", arg)
			}
			cps = append(cps, got...)
			continue
		}
		files = append(files, arg)
	}
	if key != nil {
		more, err := audit.ReadCheckpoints(key, files...)
		if err != nil {
			return err
		}
		cps = append(cps, more...)
	}
	rep, err := store.VerifyWith(ctx, audit.VerifyOptions{Key: key, Checkpoints: cps})
	if err != nil {
		return err
	}
	w := writerOr(c.out)
	if rep.OK() {
		switch {
		case rep.KeyedFrom == 0:
			fmt.Fprintf(w, "audit chain intact: %d rows verified (NOT keyed: anyone who can write the table can forge it; set SYNCD_AUDIT_KEY)\n", rep.Rows)
		default:
			fmt.Fprintf(w, "audit chain intact: %d rows verified, keyed from row %d, %d checkpoint(s) matched\n", rep.Rows, rep.KeyedFrom, rep.Checkpoints)
		}
		return nil
	}
	fmt.Fprintf(w, "audit chain BROKEN: %d rows checked, %d problems\n", rep.Rows, len(rep.Problems))
	for _, p := range rep.Problems {
		if p.ID == 0 {
			fmt.Fprintf(w, "  %s\n", p.Reason)
			continue
		}
		fmt.Fprintf(w, "  row id %d: %s\n", p.ID, p.Reason)
	}
	first := rep.Problems[0]
	if rep.FirstBroken != 0 {
		return &exitError{code: 1, err: fmt.Errorf("audit chain broken at row id %d: %s", rep.FirstBroken, first.Reason)}
	}
	return &exitError{code: 1, err: fmt.Errorf("audit chain broken: %s", first.Reason)}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// changedPaths lists the changed fields, the first few only: a create
// names every field it sets, which would stretch every row of the table
// (the JSON format has them all).
func changedPaths(changes []syncd.FieldChange) string {
	const shown = 3
	paths := make([]string, 0, shown)
	for i, c := range changes {
		if i == shown {
			return strings.Join(paths, ",") + fmt.Sprintf(",… (+%d)", len(changes)-shown)
		}
		paths = append(paths, c.Path)
	}
	return strings.Join(paths, ",")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
