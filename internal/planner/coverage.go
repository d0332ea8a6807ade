package planner

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/syncd"
)

// Coverage is how many of the live objects a plan's listings showed are
// declared by a manifest (as driftctl reports unmanaged resources). It is
// computed from the snapshot the plan already read, so it costs no
// request; it covers what each platform listed. Each kind's rules name
// and group its unmanaged objects (syncd.Rules.Unmanaged).
type Coverage struct {
	// Managed counts live objects a manifest is planned against.
	Managed int
	// Unmanaged are the other live objects, sorted by kind, group and
	// remote id.
	Unmanaged []Unmanaged
	// ByPlatform counts both per kind.
	ByPlatform map[syncd.Kind]PlatformCoverage
}

// PlatformCoverage counts one platform's objects.
type PlatformCoverage struct {
	Managed   int `json:"managed"`
	Unmanaged int `json:"unmanaged"`
}

// Unmanaged is a live object no manifest declares.
type Unmanaged struct {
	Kind     syncd.Kind `json:"kind"`
	Group    string     `json:"make_app,omitempty"` // the rules' group (a Make app); "" for none
	RemoteID string     `json:"remote_id"`
	// Name is what a person knows it by (the rules' Unmanaged).
	Name string `json:"name"`
	// Bound is the inventory resource still bound to it (its manifest is
	// gone: --prune deletes it); "" when syncd never managed it.
	Bound string `json:"bound,omitempty"`
	// Heading is what its group is listed under (its rules' Unmanaged;
	// the kind when it has none).
	Heading string `json:"-"`
}

// Percent is Managed out of all listed objects, one decimal; 100 when
// nothing was listed.
func (c *Coverage) Percent() float64 {
	total := c.Managed + len(c.Unmanaged)
	if total == 0 {
		return 100
	}
	return math.Round(float64(c.Managed)*1000/float64(total)) / 10
}

// WholePercent is Managed out of all listed objects in whole percent,
// rounded down (100 only when every object is managed).
func (c *Coverage) WholePercent() int {
	total := c.Managed + len(c.Unmanaged)
	if total == 0 {
		return 100
	}
	return c.Managed * 100 / total
}

// CoverageOf computes the coverage of p over the live objects it was
// planned from. Call it only for a full plan (no scope) whose manifests
// all loaded: otherwise the objects of the resources left out would look
// unmanaged. rules name the objects (Input.Rules).
func CoverageOf(live []syncd.Live, bindings map[syncd.Key]syncd.Binding, p *Plan, rules map[syncd.Kind]syncd.Rules) *Coverage {
	type id struct {
		kind syncd.Kind
		rid  string
	}
	managed := map[id]bool{}
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.RemoteID != "" && c.Action != ActionDelete && c.Action != ActionCreate {
			managed[id{c.Key.Kind, c.RemoteID}] = true
		}
	}
	bound := map[id]syncd.Key{}
	for k, b := range bindings {
		bound[id{k.Kind, b.RemoteID}] = k
	}
	cov := &Coverage{ByPlatform: map[syncd.Kind]PlatformCoverage{}}
	seen := map[id]bool{}
	for _, l := range live {
		i := id{l.Kind, l.RemoteID}
		if seen[i] {
			continue
		}
		seen[i] = true
		pc := cov.ByPlatform[l.Kind]
		if managed[i] {
			cov.Managed++
			pc.Managed++
			cov.ByPlatform[l.Kind] = pc
			continue
		}
		pc.Unmanaged++
		cov.ByPlatform[l.Kind] = pc
		u := Unmanaged{Kind: l.Kind, RemoteID: l.RemoteID, Heading: string(l.Kind)}
		if r, ok := rules[l.Kind]; ok {
			u.Group, u.Heading, u.Name = r.Unmanaged(l.Spec)
		}
		if k, ok := bound[i]; ok {
			u.Bound = k.String()
		}
		cov.Unmanaged = append(cov.Unmanaged, u)
	}
	slices.SortFunc(cov.Unmanaged, func(a, b Unmanaged) int {
		return cmpStrings(string(a.Kind), string(b.Kind), a.Group, b.Group, a.RemoteID, b.RemoteID)
	})
	return cov
}

func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
}

// CoverageLine is the one-line summary of c.
func CoverageLine(c *Coverage) string {
	return fmt.Sprintf("Coverage: %d managed, %d unmanaged live object(s) (%.1f%% managed).", c.Managed, len(c.Unmanaged), c.Percent())
}

// unmanagedGroups yields the unmanaged objects per platform and Make app,
// with a heading for each group.
func unmanagedGroups(c *Coverage) (heads []string, groups [][]Unmanaged) {
	for _, u := range c.Unmanaged {
		head := u.Heading
		if head == "" {
			head = string(u.Kind)
		}
		if len(heads) == 0 || heads[len(heads)-1] != head {
			heads = append(heads, head)
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], u)
	}
	return heads, groups
}

// WriteUnmanagedText lists the unmanaged objects for a person, per
// platform and Make app, after the plan (`syncd plan --show-unmanaged`).
func WriteUnmanagedText(w io.Writer, p *Plan) error {
	var b strings.Builder
	if p.Coverage == nil {
		b.WriteString("\nUnmanaged objects: not counted for a partial plan or while a manifest fails to load.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("\n" + CoverageLine(p.Coverage) + "\n")
	if len(p.Coverage.Unmanaged) == 0 {
		b.WriteString("Every listed live object is declared by a manifest.\n")
	} else {
		b.WriteString("Live objects no manifest declares (syncd never changes or deletes them):\n")
	}
	heads, groups := unmanagedGroups(p.Coverage)
	for i, h := range heads {
		b.WriteString("\n  " + h + ":\n")
		for _, u := range groups[i] {
			line := fmt.Sprintf("    %s  %q", u.RemoteID, u.Name)
			if u.Bound != "" {
				line += "  (in the inventory as " + u.Bound + ", whose manifest is gone: --prune deletes it)"
			}
			b.WriteString(line + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdUnmanagedRows and mdUnmanagedBytes bound the unmanaged objects a
// Markdown plan lists, so that the comment stays under GitHub's limit with
// room for the plan; each name, remote id and heading is cut to
// markdownValueLimit characters, as the values in the plan's tables.
const (
	mdUnmanagedRows  = 200
	mdUnmanagedBytes = 32768
)

func markdownUnmanaged(c *Coverage) string {
	var b strings.Builder
	if c == nil {
		return "**Unmanaged objects:** not counted for a partial plan or while a manifest fails to load.\n\n"
	}
	b.WriteString("**" + mdText(CoverageLine(c)) + "**\n\n")
	heads, groups := unmanagedGroups(c)
	rows := 0
	full := func() bool { return rows >= mdUnmanagedRows || b.Len() >= mdUnmanagedBytes }
	for i, h := range heads {
		if full() {
			break
		}
		b.WriteString("<details><summary>Unmanaged: " + mdText(cutRunes(h, markdownValueLimit)) + fmt.Sprintf(" (%d)", len(groups[i])) + "</summary>\n\n")
		b.WriteString("| remote id | name | note |\n| --- | --- | --- |\n")
		for _, u := range groups[i] {
			if full() {
				break
			}
			rows++
			note := ""
			if u.Bound != "" {
				note = "in the inventory as " + cutRunes(u.Bound, markdownValueLimit) + " (manifest gone)"
			}
			b.WriteString("| " + mdCode(cutRunes(u.RemoteID, markdownValueLimit)) + " | " + mdText(cutRunes(u.Name, markdownValueLimit)) + " | " + mdText(note) + " |\n")
		}
		b.WriteString("\n</details>\n\n")
	}
	if rows < len(c.Unmanaged) {
		fmt.Fprintf(&b, "… and more unmanaged objects: `syncd plan --show-unmanaged --format json` lists all %d.\n\n", len(c.Unmanaged))
	}
	return b.String()
}

// cutRunes cuts s to limit characters, marking the cut with "…".
func cutRunes(s string, limit int) string {
	if r := []rune(s); len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}
