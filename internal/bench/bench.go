package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Figure is one measured number with its target.
type Figure struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	// Target is shown as written ("<= 1.10", "= minimum"); "" means the
	// figure is context for another one and has no pass/fail of its own.
	Target string `json:"target"`
	// Pass is nil for a figure without a target.
	Pass *bool  `json:"pass"`
	Note string `json:"note,omitempty"`
}

// Report is every figure of one `make bench` run.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	GoVersion   string    `json:"go_version"`
	CPUs        int       `json:"cpus"`
	Command     string    `json:"command"`
	Figures     []Figure  `json:"figures"`
	Notes       []string  `json:"notes"`
}

// NewReport starts a report stamped with the machine it runs on.
func NewReport(command string) *Report {
	return &Report{GeneratedAt: time.Now().UTC().Truncate(time.Second), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), Command: command}
}

// Info adds a figure without a target.
func (r *Report) Info(scenario, name string, v float64, unit, note string) {
	r.Figures = append(r.Figures, Figure{Scenario: scenario, Name: name, Value: v, Unit: unit, Note: note})
}

// AtMost adds a figure whose target is v <= limit.
func (r *Report) AtMost(scenario, name string, v float64, unit string, limit float64, note string) {
	pass := v <= limit
	r.Figures = append(r.Figures, Figure{Scenario: scenario, Name: name, Value: v, Unit: unit,
		Target: "<= " + num(limit), Pass: &pass, Note: note})
}

// AtLeast adds a figure whose target is v >= limit.
func (r *Report) AtLeast(scenario, name string, v float64, unit string, limit float64, note string) {
	pass := v >= limit
	r.Figures = append(r.Figures, Figure{Scenario: scenario, Name: name, Value: v, Unit: unit,
		Target: ">= " + num(limit), Pass: &pass, Note: note})
}

// Within adds a figure whose target is lo <= v <= hi.
func (r *Report) Within(scenario, name string, v float64, unit string, lo, hi float64, note string) {
	pass := v >= lo && v <= hi
	r.Figures = append(r.Figures, Figure{Scenario: scenario, Name: name, Value: v, Unit: unit,
		Target: num(lo) + " to " + num(hi), Pass: &pass, Note: note})
}

// Equal adds a figure whose target is v == want.
func (r *Report) Equal(scenario, name string, v float64, unit string, want float64, note string) {
	pass := v == want
	r.Figures = append(r.Figures, Figure{Scenario: scenario, Name: name, Value: v, Unit: unit,
		Target: "= " + num(want), Pass: &pass, Note: note})
}

// Failed adds a FAIL row for a scenario that could not be measured.
func (r *Report) Failed(scenario string, err error) {
	pass := false
	r.Figures = append(r.Figures, Figure{Scenario: scenario, Name: "scenario ran", Target: "runs", Pass: &pass, Note: oneLine(err.Error())})
}

// Note adds an explanation printed under the table.
func (r *Report) Note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// AllPass reports whether every figure with a target passed.
func (r *Report) AllPass() bool {
	for _, f := range r.Figures {
		if f.Pass != nil && !*f.Pass {
			return false
		}
	}
	return true
}

func num(v float64) string {
	switch {
	case v == float64(int64(v)) && v < 1e15 && v > -1e15:
		return fmt.Sprintf("%d", int64(v))
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func verdict(f Figure) string {
	switch {
	case f.Pass == nil:
		return ""
	case *f.Pass:
		return "PASS"
	}
	return "FAIL"
}

// WriteText prints the table for a terminal.
func (r *Report) WriteText(w io.Writer) {
	rows := [][]string{{"SCENARIO", "FIGURE", "VALUE", "TARGET", "RESULT", "NOTE"}}
	for _, f := range r.Figures {
		val := ""
		if f.Pass == nil || f.Unit != "" || f.Value != 0 || f.Name != "scenario ran" {
			val = strings.TrimSpace(num(f.Value) + " " + f.Unit)
		}
		rows = append(rows, []string{f.Scenario, f.Name, val, f.Target, verdict(f), f.Note})
	}
	width := make([]int, len(rows[0])-1)
	for _, row := range rows {
		for i := range width {
			width[i] = max(width[i], len([]rune(row[i])))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			if i < len(width) {
				b.WriteString(cell + strings.Repeat(" ", width[i]-len([]rune(cell))+2))
			} else {
				b.WriteString(cell)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	r.writeFooter(w, "")
}

// WriteMarkdown writes the table as Markdown (README section body).
func (r *Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "Measured by `%s` on %s (%d CPUs, %s). Speed is measured here, never asserted in tests.\n\n",
		r.Command, r.GeneratedAt.Format(time.RFC3339), r.CPUs, r.GoVersion)
	fmt.Fprintln(w, "| Scenario | Figure | Value | Target | Result | Note |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, f := range r.Figures {
		val := strings.TrimSpace(num(f.Value) + " " + f.Unit)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", f.Scenario, f.Name, val, f.Target, verdict(f), f.Note)
	}
	r.writeFooter(w, "- ")
}

func (r *Report) writeFooter(w io.Writer, bullet string) {
	if len(r.Notes) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, n := range r.Notes {
		fmt.Fprintln(w, bullet+n)
	}
}

// WriteFiles writes results.json and RESULTS.md into dir, and replaces (or
// appends) the "## Benchmarks" section of readme when readme is not "" and
// the file exists. It
// returns the paths written.
func (r *Report) WriteFiles(dir, readme string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	jsonPath := filepath.Join(dir, "results.json")
	if err := os.WriteFile(jsonPath, append(js, '\n'), 0o644); err != nil {
		return nil, err
	}
	var md strings.Builder
	r.WriteMarkdown(&md)
	mdPath := filepath.Join(dir, "RESULTS.md")
	if err := os.WriteFile(mdPath, []byte("# Benchmarks\n\n"+md.String()), 0o644); err != nil {
		return nil, err
	}
	written := []string{jsonPath, mdPath}
	if readme == "" {
		return written, nil
	}
	old, err := os.ReadFile(readme)
	if errors.Is(err, os.ErrNotExist) {
		return written, nil
	}
	if err != nil {
		return written, err
	}
	if err := os.WriteFile(readme, []byte(ReplaceSection(string(old), "## Benchmarks", md.String())), 0o644); err != nil {
		return written, err
	}
	return append(written, readme), nil
}

// ReplaceSection replaces the body of the level-2 section headed exactly
// heading (up to the next level-2 heading), or appends the section at the
// end of doc when it is missing.
func ReplaceSection(doc, heading, body string) string {
	section := heading + "\n\n" + strings.TrimRight(body, "\n") + "\n"
	lines := strings.SplitAfter(doc, "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimRight(l, "\r\n") == heading {
			start = i
			break
		}
	}
	if start < 0 {
		if doc != "" && !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		if doc != "" {
			doc += "\n"
		}
		return doc + section
	}
	end := len(lines)
	inFence := false
	for i := start + 1; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "```") {
			inFence = !inFence
		}
		if !inFence && strings.HasPrefix(lines[i], "## ") {
			end = i
			break
		}
	}
	rest := strings.Join(lines[end:], "")
	if rest != "" {
		section += "\n"
	}
	return strings.Join(lines[:start], "") + section + rest
}
