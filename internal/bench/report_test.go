package bench

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReplaceSection(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"appended to a document without the section", "# T\n\ntext\n", "# T\n\ntext\n\n## Benchmarks\n\nBODY\n"},
		{"appended when the last line has no newline", "# T", "# T\n\n## Benchmarks\n\nBODY\n"},
		{"empty document", "", "## Benchmarks\n\nBODY\n"},
		{"replaced at the end", "# T\n\n## Benchmarks\n\nold\n", "# T\n\n## Benchmarks\n\nBODY\n"},
		{"replaced before the next section", "# T\n\n## Benchmarks\n\nold\n\n## Next\n\nkeep\n", "# T\n\n## Benchmarks\n\nBODY\n\n## Next\n\nkeep\n"},
		{"a heading inside a code fence is not a section", "## Benchmarks\n\n```\n## not a heading\n```\n## Next\n", "## Benchmarks\n\nBODY\n\n## Next\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ReplaceSection(tc.doc, "## Benchmarks", "BODY\n")); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestReportVerdicts(t *testing.T) {
	r := NewReport("test")
	r.AtMost("s", "ratio", 1.2, "", 1.1, "")
	r.AtLeast("s", "rate", 30000, "events/s", 20000, "")
	r.Equal("s", "requests", 4, "", 4, "")
	r.Info("s", "wall", 3.5, "s", "context")
	r.Within("s", "linear", 1.1, "", 0.8, 1.2, "")
	r.Within("s", "too low", 0.79, "", 0.8, 1.2, "")
	r.Within("s", "too high", 1.21, "", 0.8, 1.2, "")
	var got []string
	for _, f := range r.Figures {
		got = append(got, f.Name+" "+verdict(f))
	}
	want := []string{"ratio FAIL", "rate PASS", "requests PASS", "wall ", "linear PASS", "too low FAIL", "too high FAIL"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
	if r.AllPass() {
		t.Error("AllPass with a failed figure")
	}
	var b strings.Builder
	r.WriteMarkdown(&b)
	if !strings.Contains(b.String(), "| s | ratio | 1.2 | <= 1.1 | FAIL |") {
		t.Errorf("markdown row missing:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "| s | linear | 1.1 | 0.8 to 1.2 | PASS |") {
		t.Errorf("markdown row of a range missing:\n%s", b.String())
	}
}
