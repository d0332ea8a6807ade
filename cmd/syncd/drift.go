package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/syncd"
)

// driftCmd lists the open drifts recorded in the audit store.
type driftCmd struct {
	databaseFlag
	Format           string `name:"format" enum:"text,json,markdown" default:"text" help:"Output format: text, json or markdown."`
	DetailedExitcode bool   `name:"detailed-exitcode" help:"Exit 2 while drifts are open, 0 when none, 1 on error."`

	out io.Writer        `kong:"-"`
	now func() time.Time `kong:"-"`
}

func (c *driftCmd) Run(ctx context.Context, g *Globals) error {
	store, err := c.openReader(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	drifts, err := store.OpenDrifts(ctx)
	if err != nil {
		return err
	}
	stuck, err := store.StuckResources(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	w := writerOr(c.out)
	switch c.Format {
	case "json":
		err = writeDriftJSON(w, drifts, stuck, now)
	case "markdown":
		if err = writeDriftMarkdown(w, drifts, now); err == nil {
			err = writeStuckMarkdown(w, stuck)
		}
	default:
		if err = writeDriftText(w, drifts, now); err == nil {
			err = writeStuckText(w, stuck)
		}
	}
	if err == nil && c.DetailedExitcode && len(drifts) > 0 {
		return &exitError{code: 2}
	}
	return err
}

// stuckHeading explains a stuck resource to the person reading.
const stuckHeading = "Stuck (not retried until its manifest or live object changes, or on syncd apply)"

func writeStuckText(w io.Writer, stuck []audit.StuckResource) error {
	if len(stuck) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\n%s:\n", stuckHeading)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tREMOTE ID\tACTION\tSINCE\tERROR")
	for _, s := range stuck {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Key, dash(s.RemoteID), dash(s.Action), s.Since.Format(time.RFC3339), dash(s.Error))
	}
	return tw.Flush()
}

func writeStuckMarkdown(w io.Writer, stuck []audit.StuckResource) error {
	if len(stuck) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n### %s (%d)\n\n| Resource | Remote ID | Action | Since | Error |\n| --- | --- | --- | --- | --- |\n", stuckHeading, len(stuck))
	for _, s := range stuck {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", mdEscape(s.Key.String()), mdEscape(dash(s.RemoteID)), mdEscape(dash(s.Action)),
			s.Since.Format(time.RFC3339), mdEscape(dash(s.Error)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type stuckJSON struct {
	Kind     string    `json:"kind"`
	Name     string    `json:"name"`
	RemoteID string    `json:"remote_id"`
	Action   string    `json:"action"`
	Since    time.Time `json:"since"`
	Error    string    `json:"error"`
}

// driftPaths lists the fields still drifted, redacted values never shown.
func driftPaths(d audit.Drift) string {
	var paths []string
	for _, f := range d.Fields {
		if f.ResolvedAt == nil {
			paths = append(paths, f.Path)
		}
	}
	return strings.Join(paths, ", ")
}

// age renders a duration the way people read ages: 3d4h, 2h5m, 40s.
func age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Truncate(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h, m, s := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	switch {
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

func writeDriftText(w io.Writer, drifts []audit.Drift, now time.Time) error {
	if len(drifts) == 0 {
		_, err := fmt.Fprintln(w, "No open drift.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tREMOTE ID\tAGE\tFIRST SEEN\tLAST SEEN\tSCANS\tFIELDS")
	for _, d := range drifts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.Key, dash(d.RemoteID), age(now.Sub(d.FirstSeen)),
			d.FirstSeen.UTC().Format(time.RFC3339), d.LastSeen.UTC().Format(time.RFC3339), d.Occurrences, dash(driftPaths(d)))
	}
	return tw.Flush()
}

func writeDriftMarkdown(w io.Writer, drifts []audit.Drift, now time.Time) error {
	if len(drifts) == 0 {
		_, err := fmt.Fprintln(w, "**No open drift.**")
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Open drift (%d)\n\n", len(drifts))
	b.WriteString("| Resource | Remote ID | Age | First seen | Last seen | Scans | Fields |\n")
	b.WriteString("| --- | --- | --- | --- | --- | ---: | --- |\n")
	for _, d := range drifts {
		var fields []string
		for _, f := range d.Fields {
			if f.ResolvedAt == nil {
				fields = append(fields, "`"+mdEscape(f.Path)+"`")
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %d | %s |\n", mdEscape(d.Key.String()), mdEscape(dash(d.RemoteID)),
			age(now.Sub(d.FirstSeen)), d.FirstSeen.UTC().Format(time.RFC3339), d.LastSeen.UTC().Format(time.RFC3339),
			d.Occurrences, strings.Join(fields, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape keeps a value inside its table cell.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "`", "'")
	return strings.Join(strings.Fields(s), " ")
}

type driftFieldJSON struct {
	syncd.FieldChange
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

type driftJSON struct {
	Kind        string           `json:"kind"`
	Name        string           `json:"name"`
	RemoteID    string           `json:"remote_id"`
	FirstSeen   time.Time        `json:"first_seen"`
	LastSeen    time.Time        `json:"last_seen"`
	AgeSeconds  int64            `json:"age_seconds"`
	Occurrences int              `json:"occurrences"`
	Fields      []driftFieldJSON `json:"fields"`
}

func writeDriftJSON(w io.Writer, drifts []audit.Drift, stuck []audit.StuckResource, now time.Time) error {
	out := struct {
		FormatVersion int         `json:"format_version"`
		OpenDrifts    []driftJSON `json:"open_drifts"`
		Stuck         []stuckJSON `json:"stuck"`
	}{FormatVersion: 1, OpenDrifts: make([]driftJSON, len(drifts)), Stuck: make([]stuckJSON, len(stuck))}
	for i, s := range stuck {
		out.Stuck[i] = stuckJSON{Kind: string(s.Key.Kind), Name: s.Key.Name, RemoteID: s.RemoteID, Action: s.Action, Since: s.Since, Error: s.Error}
	}
	for i, d := range drifts {
		fields := []driftFieldJSON{}
		for _, f := range d.Fields {
			if f.ResolvedAt == nil {
				fields = append(fields, driftFieldJSON{FieldChange: f.FieldChange, FirstSeen: f.FirstSeen.UTC(), LastSeen: f.LastSeen.UTC()})
			}
		}
		out.OpenDrifts[i] = driftJSON{
			Kind: string(d.Key.Kind), Name: d.Key.Name, RemoteID: d.RemoteID,
			FirstSeen: d.FirstSeen.UTC(), LastSeen: d.LastSeen.UTC(),
			AgeSeconds: int64(now.Sub(d.FirstSeen) / time.Second), Occurrences: d.Occurrences, Fields: fields,
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
