package planner

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/syncd"
)

// TestLongValuesAreCutAtExactlyTheLimit: a value whose JSON text is as long
// as the limit (200 characters in Markdown, 1,000 in the text plan) is shown
// whole; one character more and it is cut to exactly the limit, saying how
// much is left out. Characters, not bytes: the values are multi-byte.
func TestLongValuesAreCutAtExactlyTheLimit(t *testing.T) {
	plan := func(v string) *Plan {
		p := &Plan{Changes: []Change{{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "c"}, Action: ActionUpdate, RemoteID: "r",
			Fields: []syncd.FieldChange{{Path: "/label", After: v}}}}}
		p.Summary = Summarize(p.Changes)
		return p
	}
	// The JSON text of a string of n "é" is n+2 characters (the quotes).
	quoted := func(n int) string { return `"` + strings.Repeat("é", n) + `"` }
	cutTo := func(limit int) string { return `"` + strings.Repeat("é", limit-1) + "… (1 more characters)" }
	for _, tt := range []struct {
		format string
		limit  int
		render func(*Plan) string
	}{
		{"markdown", markdownValueLimit, func(p *Plan) string {
			var b bytes.Buffer
			if err := WriteMarkdown(&b, p, MarkdownOptions{}); err != nil {
				t.Fatal(err)
			}
			return b.String()
		}},
		{"text", textValueLimit, func(p *Plan) string {
			var b bytes.Buffer
			if err := WriteText(&b, p, false); err != nil {
				t.Fatal(err)
			}
			return b.String()
		}},
	} {
		t.Run(tt.format, func(t *testing.T) {
			atLimit := tt.render(plan(strings.Repeat("é", tt.limit-2)))
			if !strings.Contains(atLimit, quoted(tt.limit-2)) || strings.Contains(atLimit, "…") || strings.Contains(atLimit, "shortened") {
				t.Errorf("a value of exactly %d characters is not shown whole:\n%s", tt.limit, atLimit)
			}
			over := tt.render(plan(strings.Repeat("é", tt.limit-1)))
			if !strings.Contains(over, cutTo(tt.limit)) || strings.Contains(over, quoted(tt.limit-1)) {
				t.Errorf("a value of %d characters is not cut to %d:\n%s", tt.limit+1, tt.limit, over)
			}
			if tt.format == "markdown" && !strings.Contains(over, "Values longer than 200 characters are shortened here") {
				t.Errorf("the cut value is not announced:\n%s", over)
			}
		})
	}
}

// TestSummaryLineCountsEveryWriteKind: any one write of any kind, or any
// two, makes the plan's last line list them; only a plan without writes
// says "No changes.".
func TestSummaryLineCountsEveryWriteKind(t *testing.T) {
	tests := []struct {
		sum  Summary
		want string
	}{
		{Summary{}, "No changes."},
		{Summary{Noop: 4}, "No changes."},
		{Summary{Create: 1}, "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 0 to adopt."},
		{Summary{Create: 1, Update: 1}, "Plan: 1 to create, 1 to update, 0 to replace, 0 to delete, 0 to adopt."},
		{Summary{Update: 1, Replace: 1}, "Plan: 0 to create, 1 to update, 1 to replace, 0 to delete, 0 to adopt."},
		{Summary{Replace: 1, Delete: 1}, "Plan: 0 to create, 0 to update, 1 to replace, 1 to delete, 0 to adopt."},
		{Summary{Delete: 1, Adopt: 1}, "Plan: 0 to create, 0 to update, 0 to replace, 1 to delete, 1 to adopt."},
		{Summary{Create: 1, Update: 2, Replace: 3, Delete: 4, Adopt: 5, Blocked: 1}, "Plan: 1 to create, 2 to update, 3 to replace, 4 to delete, 5 to adopt; 1 blocked."},
	}
	for _, tt := range tests {
		if got := SummaryLine(&Plan{Summary: tt.sum}); got != tt.want {
			t.Errorf("SummaryLine(%+v) = %q, want %q", tt.sum, got, tt.want)
		}
	}
}

// TestCommentIDAcceptsWholeRanges: every letter, digit and . _ / - is
// allowed, up to 100 characters; the characters next to those ranges are
// not.
func TestCommentIDAcceptsWholeRanges(t *testing.T) {
	ok := []string{"az", "AZ", "09", "a.b_c/d-e", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", strings.Repeat("a", 100)}
	for _, id := range ok {
		if !ValidCommentID(id) {
			t.Errorf("ValidCommentID(%q) = false, want true", id)
		}
	}
	for _, r := range "`{@[:" {
		if id := "a" + string(r); ValidCommentID(id) {
			t.Errorf("ValidCommentID(%q) = true, want false", id)
		}
	}
	if ValidCommentID(strings.Repeat("a", 101)) {
		t.Error("a comment id of 101 characters was accepted")
	}
}

// TestMarkdownCutsNoMoreThanTheLimitNeeds: a plan that fits the comment
// exactly is not cut; one that does not drops the field tables from the
// end, then the resources' lines from the end, and stops as soon as the
// rest fits the limit less the room kept for the note.
func TestMarkdownCutsNoMoreThanTheLimitNeeds(t *testing.T) {
	p := bigPlan(4, 8, 150)
	const huge = 1 << 30
	whole := markdown(p, MarkdownOptions{}, huge)
	cs := make([]*Change, len(p.Changes))
	gain := make([]int, len(p.Changes)) // what dropping a table saves
	for i := range p.Changes {
		cs[i] = &p.Changes[i]
		block, _ := mdBlock(cs[i], markdownValueLimit)
		gain[i] = len(block) - len(mdLine(cs[i]))
		if gain[i] <= mdReserve {
			t.Fatalf("resource %d: a table of %d characters is too small for this test", i, gain[i])
		}
	}
	last := len(mdLine(cs[len(cs)-1]))
	allShort := len(whole)
	for _, g := range gain {
		allShort -= g
	}
	tests := []struct {
		name     string
		limit    int
		want     []string
		notWant  []string
		tables   int // resources still with their <details>
		resource int // resources still listed
	}{
		{"exactly the limit", len(whole), nil, []string{"was cut"}, 4, 4},
		{"one character over", len(whole) - 1, []string{"cut to fit", "the field tables of the last 1 resource(s) were left out"}, []string{"not listed", "not shown"}, 3, 4},
		{"one table to the budget", len(whole) - gain[3] + mdReserve, []string{"the field tables of the last 1 resource(s) were left out"}, []string{"not listed", "not shown"}, 3, 4},
		{"every table to the budget", allShort + mdReserve, []string{"the field tables of the last 4 resource(s) were left out"}, []string{"not listed", "not shown"}, 0, 4},
		{"one line to the budget", allShort - last + mdReserve, []string{"the field tables of the last 4 resource(s) were left out", "the last 1 resource(s) are not listed", "…and 1 more resource(s) not shown."}, nil, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := markdown(p, MarkdownOptions{}, tt.limit)
			if tt.notWant != nil && tt.notWant[0] == "was cut" && out != whole {
				t.Errorf("a plan of exactly the limit changed:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("want %q in\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("do not want %q in\n%s", w, out)
				}
			}
			if n := strings.Count(out, "<details>"); n != tt.tables {
				t.Errorf("%d resources keep their table, want %d", n, tt.tables)
			}
			listed := 0
			for _, c := range cs {
				if strings.Contains(out, "<b>"+c.Key.String()+"</b>") {
					listed++
				}
			}
			if listed != tt.resource {
				t.Errorf("%d resources listed, want %d", listed, tt.resource)
			}
		})
	}
}

// TestMarkdownKeepsTheLineOfOneHugeResource: a single resource whose
// field table alone exceeds the comment keeps its line, and only its table
// is left out.
func TestMarkdownKeepsTheLineOfOneHugeResource(t *testing.T) {
	p := bigPlan(1, 400, 300)
	var b bytes.Buffer
	if err := WriteMarkdown(&b, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if len(out) > MarkdownLimit {
		t.Errorf("markdown is %d bytes, limit %d", len(out), MarkdownLimit)
	}
	want := fmt.Sprintf("- <code>~ update</code> <b>%s</b> (<code>0</code>) · 400 field(s) · drift\n", p.Changes[0].Key)
	for _, w := range []string{want, "the field tables of the last 1 resource(s) were left out"} {
		if !strings.Contains(out, w) {
			t.Errorf("want %q in\n%.2000s", w, out)
		}
	}
	if strings.Contains(out, "not listed") || strings.Contains(out, "<details>") {
		t.Errorf("the resource lost its line, or kept its table:\n%.2000s", out)
	}
}

// TestMarkdownCutLinesKeepErrorsAndBlockReasons: a resource whose table was
// left out still says why it cannot be planned or is blocked; the others'
// lines end at their summary.
func TestMarkdownCutLinesKeepErrorsAndBlockReasons(t *testing.T) {
	p := bigPlan(2, 8, 150)
	p.Changes = append(p.Changes,
		Change{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "broken"}, Action: ActionNoop, Error: "the API said no"},
		Change{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: "old"}, Action: ActionDelete, RemoteID: "9", Blocked: "more than 5 deletes"})
	p.Summary = Summarize(p.Changes)
	// The limit that leaves every table out and keeps every line.
	limit := len(markdown(p, MarkdownOptions{}, 1<<30)) + mdReserve
	for i := range p.Changes {
		block, _ := mdBlock(&p.Changes[i], markdownValueLimit)
		limit -= len(block) - len(mdLine(&p.Changes[i]))
	}
	out := markdown(p, MarkdownOptions{}, limit)
	for _, w := range []string{
		"the field tables of the last 4 resource(s) were left out",
		"\n- <code>~ update</code> <b>PatchworksConnector/c-00000</b> (<code>0</code>) · 8 field(s) · drift\n",
		"\n- <code>! error</code> <b>MakeConnection/broken</b>: the API said no\n",
		"\n- <code>- delete</code> <b>PatchworksConnector/old</b> (<code>9</code>) · ⛔ blocked: more than 5 deletes\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("want %q in\n%s", w, out)
		}
	}
	if strings.Contains(out, "<details>") || strings.Contains(out, "not listed") {
		t.Errorf("a table is kept or a line left out:\n%s", out)
	}
}

// TestMarkdownLoadErrorsCutAtExactly300: a load failure of 300 characters
// is shown whole; of 301, cut to 300 and marked.
func TestMarkdownLoadErrorsCutAtExactly300(t *testing.T) {
	whole, long := strings.Repeat("é", mdLoadErrorWidth), strings.Repeat("ü", mdLoadErrorWidth+1)
	var b bytes.Buffer
	if err := WriteMarkdown(&b, &Plan{LoadFailed: true}, MarkdownOptions{LoadErrors: []string{whole, long}}); err != nil {
		t.Fatal(err)
	}
	want := "```\n" + whole + "\n" + strings.Repeat("ü", mdLoadErrorWidth) + "…\n```\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("want %q in\n%s", want, b.String())
	}
}

// TestPartialPlanSaysSoOnce: a targeted plan says once, at its top, that it
// is partial and which targets it covers (text and Markdown), and the JSON
// plan has "partial" and "targets".
func TestPartialPlanSaysSoOnce(t *testing.T) {
	p := &Plan{Targets: []string{"MakeConnection/a", "PatchworksConnector/b"},
		Changes: []Change{{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "a"}, Action: ActionCreate}}}
	p.Summary = Summarize(p.Changes)
	note := "partial plan (--target MakeConnection/a, --target PatchworksConnector/b): only the matching resources were read and planned; other resources may differ, and nothing is pruned."
	var text, md, js bytes.Buffer
	if err := WriteText(&text, p, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text.String(), "Note: "+note+"\n\n") || strings.Count(text.String(), "partial plan") != 1 {
		t.Errorf("text plan:\n%s", text.String())
	}
	if !strings.Contains(md.String(), "\n> **Note:** "+note+"\n\n") || strings.Count(md.String(), "partial plan") != 1 {
		t.Errorf("markdown plan:\n%s", md.String())
	}
	for _, w := range []string{`"partial": true`, `"targets": [
    "MakeConnection/a",
    "PatchworksConnector/b"
  ]`} {
		if !strings.Contains(js.String(), w) {
			t.Errorf("want %s in the JSON plan:\n%s", w, js.String())
		}
	}
	var full bytes.Buffer
	p.Targets = nil
	if err := WriteText(&full, p, false); err != nil || strings.Contains(full.String(), "partial") {
		t.Errorf("a full plan says it is partial (err %v):\n%s", err, full.String())
	}
}
