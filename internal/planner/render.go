package planner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/syncd/syncd/internal/syncd"
)

// FormatVersion is the "format_version" of the JSON plan (SPEC §5); it is
// bumped only on a breaking change (adding keys is not one).
const FormatVersion = 1

// MarkdownLimit is GitHub's limit on a comment's length; WriteMarkdown
// stays within it.
const MarkdownLimit = 65536

// textValueLimit caps one value in the text plan; the JSON plan has them whole.
const textValueLimit = 1000

// markdownValueLimit is what long values are cut to in a Markdown table
// (the JSON plan has them whole).
const markdownValueLimit = 200

// sensitiveChanged is how a changed secret reads in text and Markdown (SPEC §2).
const sensitiveChanged = "(sensitive, changed)"

// unreadableSet is how a write-only secret of unknown live value reads:
// it will be written whatever the platform holds.
const unreadableSet = syncd.Redacted + " will be set (cannot be read back)"

// PartialNote is what a targeted plan says once, at the top.
func PartialNote(targets []string) string {
	return "partial plan (--target " + strings.Join(targets, ", --target ") + "): only the matching resources were read and planned; " +
		"other resources may differ, and nothing is pruned."
}

// NoInventoryNote is what a plan made without the inventory says once, at
// its top.
const NoInventoryNote = "planned without a database: syncd's inventory (which objects it created or adopted) was not read. " +
	"Objects are matched by metadata.externalId or natural key only, so a renamed natural key cannot be followed; " +
	"write-only secrets are not compared; nothing is planned for deletion; an object found with differences is shown as an update."

// listed reports whether a change appears in the JSON plan: everything
// that is not a plain noop.
func listed(c *Change) bool { return c.Action != ActionNoop || c.Error != "" }

// shownToPeople reports whether a change appears in the text and Markdown
// plans, which also show a noop that carries a note worth reading.
func shownToPeople(c *Change) bool { return listed(c) || len(c.Notes) > 0 }

// shown returns f safe to print even if something upstream forgot to redact
// it: a sensitive field never shows more than syncd.Redacted.
func shown(f syncd.FieldChange) syncd.FieldChange {
	if f.Sensitive {
		f.Before, f.After = redactedOrNil(f.Before), redactedOrNil(f.After)
	}
	if f.Unreadable {
		// Only a secret can be unreadable; never show a value beside it.
		f.Sensitive, f.Before = true, nil
	}
	return f
}

func symbol(c *Change) string {
	if c.Error != "" {
		return "!"
	}
	switch c.Action {
	case ActionCreate:
		return "+"
	case ActionUpdate:
		return "~"
	case ActionReplace:
		return "-/+"
	case ActionDelete:
		return "-"
	case ActionAdopt:
		return "<="
	}
	return " "
}

func verb(c *Change) string {
	if c.Error != "" {
		return "cannot be planned"
	}
	switch c.Action {
	case ActionCreate:
		return "will be created"
	case ActionUpdate:
		return "will be updated in place"
	case ActionReplace:
		return "must be replaced (delete, then create)"
	case ActionDelete:
		return "will be deleted"
	case ActionAdopt:
		if len(c.Fields) > 0 {
			return "will be adopted and updated"
		}
		return "will be adopted"
	}
	return "has no changes"
}

func fieldSymbol(f syncd.FieldChange) string {
	switch {
	case f.Before == nil && f.After != nil:
		return "+"
	case f.After == nil && f.Before != nil:
		return "-"
	}
	return "~"
}

// jsonText encodes v compactly without HTML escaping, cut to limit
// characters (0: no limit).
func jsonText(v any, limit int) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "(unencodable)"
	}
	s := strings.TrimSuffix(b.String(), "\n")
	if limit > 0 && utf8.RuneCountInString(s) > limit {
		r := []rune(s)
		s = fmt.Sprintf("%s… (%d more characters)", string(r[:limit]), len(r)-limit)
	}
	return s
}

type palette struct{ on bool }

func (p palette) paint(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func colorOf(sym string) string {
	switch sym {
	case "+":
		return "32"
	case "~":
		return "33"
	case "-/+":
		return "35"
	case "-":
		return "31"
	case "<=":
		return "36"
	case "!":
		return "1;31"
	}
	return "0"
}

// SummaryLine is the plan's last line, e.g. "Plan: 1 to create, 0 to update,
// 0 to replace, 0 to delete, 0 to adopt; 1 blocked." or "No changes.".
func SummaryLine(p *Plan) string {
	s := p.Summary
	if s.Create+s.Update+s.Replace+s.Delete+s.Adopt == 0 {
		return "No changes."
	}
	line := fmt.Sprintf("Plan: %d to create, %d to update, %d to replace, %d to delete, %d to adopt",
		s.Create, s.Update, s.Replace, s.Delete, s.Adopt)
	var extra []string
	if s.Blocked > 0 {
		extra = append(extra, fmt.Sprintf("%d blocked", s.Blocked))
	}
	if n := countReportOnly(p); n > 0 {
		extra = append(extra, fmt.Sprintf("%d report-only", n))
	}
	if len(extra) > 0 {
		line += "; " + strings.Join(extra, ", ")
	}
	return line + "."
}

func countReportOnly(p *Plan) int {
	n := 0
	for i := range p.Changes {
		if c := &p.Changes[i]; c.ReportOnly && c.Action != ActionNoop && c.Error == "" {
			n++
		}
	}
	return n
}

func countErrors(p *Plan) int {
	n := 0
	for i := range p.Changes {
		if p.Changes[i].Error != "" {
			n++
		}
	}
	return n
}

// WriteText writes the plan for a person, like a Terraform plan. color
// adds ANSI colours; the caller decides (a terminal, NO_COLOR unset).
func WriteText(w io.Writer, p *Plan, color bool) error {
	pal := palette{on: color}
	var b strings.Builder
	if p.LoadFailed {
		b.WriteString(pal.paint("1;31", "Warning: a manifest failed to load: no delete or replace is carried out until it is fixed.") + "\n\n")
	}
	if p.NoInventory {
		b.WriteString("Note: " + NoInventoryNote + "\n\n")
	}
	if p.Partial() {
		b.WriteString("Note: " + PartialNote(p.Targets) + "\n\n")
	}
	started := false
	for i := range p.Changes {
		c := &p.Changes[i]
		if !shownToPeople(c) {
			continue
		}
		if !started {
			b.WriteString("syncd will perform the following actions:\n\n")
			started = true
		}
		sym := symbol(c)
		head := pal.paint(colorOf(sym), fmt.Sprintf("%3s", sym)) + " " + c.Key.String()
		if c.RemoteID != "" {
			head += " (" + c.RemoteID + ")"
		}
		head += " " + verb(c)
		var tags []string
		if c.Drift {
			tags = append(tags, "drift")
		}
		if c.ReportOnly && c.Action != ActionNoop {
			tags = append(tags, "report only: never written")
		}
		if len(tags) > 0 {
			head += " [" + strings.Join(tags, "; ") + "]"
		}
		b.WriteString(head + "\n")
		if c.Error != "" {
			b.WriteString("      " + pal.paint("1;31", "error: "+c.Error) + "\n")
		}
		if c.Blocked != "" {
			b.WriteString("      " + pal.paint("1;31", "blocked: "+c.Blocked) + "\n")
		}
		for _, f := range c.Fields {
			f = shown(f)
			fs := fieldSymbol(f)
			line := pal.paint(colorOf(fs), fs) + " " + f.Path + ": "
			switch {
			case f.Unreadable:
				line += unreadableSet
			case f.Sensitive && f.Before != nil && f.After != nil:
				line += sensitiveChanged
			case f.Sensitive:
				line += syncd.Redacted
			case fs == "+":
				line += jsonText(f.After, textValueLimit)
			case fs == "-":
				line += jsonText(f.Before, textValueLimit)
			default:
				line += jsonText(f.Before, textValueLimit) + " -> " + jsonText(f.After, textValueLimit)
			}
			b.WriteString("      " + line + "\n")
		}
		for _, n := range c.Notes {
			b.WriteString("      # " + n + "\n")
		}
		b.WriteString("\n")
	}
	if n := countErrors(p); n > 0 {
		b.WriteString(pal.paint("1;31", fmt.Sprintf("Error: %d resource(s) could not be planned.", n)) + "\n")
	}
	b.WriteString(SummaryLine(p) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

type jsonPlan struct {
	FormatVersion int          `json:"format_version"`
	Summary       jsonSummary  `json:"summary"`
	Changes       []jsonChange `json:"changes"`
	LoadFailed    bool         `json:"load_failed,omitempty"`
	// NoInventory: the plan was made without the database (NoInventoryNote).
	NoInventory bool `json:"no_inventory,omitempty"`
	// Partial: only the resources matching Targets were planned.
	Partial bool     `json:"partial,omitempty"`
	Targets []string `json:"targets,omitempty"`
	// CoverageByPlatform counts managed and unmanaged objects per kind.
	CoverageByPlatform map[syncd.Kind]PlatformCoverage `json:"coverage_by_platform,omitempty"`
	// UnmanagedObjects: only with JSONOptions.ShowUnmanaged.
	UnmanagedObjects []Unmanaged `json:"unmanaged_objects,omitempty"`
}

// jsonSummary is SPEC's seven counters plus, when the plan counted them
// (Plan.Coverage), the live objects managed and unmanaged and the whole
// percent managed (rounded down, so 100 means all): integers all, so that a
// reader decoding the summary as a map of counts keeps working.
type jsonSummary struct {
	Summary
	Managed         *int `json:"managed,omitempty"`
	Unmanaged       *int `json:"unmanaged,omitempty"`
	CoveragePercent *int `json:"coverage_percent,omitempty"`
}

// JSONOptions add what only some callers want in the JSON plan.
type JSONOptions struct {
	// ShowUnmanaged lists the unmanaged live objects (unmanaged_objects).
	ShowUnmanaged bool
}

type jsonChange struct {
	Kind          syncd.Kind          `json:"kind"`
	Name          string              `json:"name"`
	Action        Action              `json:"action"`
	RemoteID      *string             `json:"remote_id"`
	BlockedReason *string             `json:"blocked_reason"`
	Fields        []syncd.FieldChange `json:"fields"`
	ReportOnly    bool                `json:"report_only,omitempty"`
	Drift         bool                `json:"drift,omitempty"`
	Error         string              `json:"error,omitempty"`
	Notes         []string            `json:"notes,omitempty"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// WriteJSON writes the plan as SPEC §5 defines it: format_version 1, all
// seven summary counters, and every resource that is not a noop (a noop
// with an error included, with an "error" key).
func WriteJSON(w io.Writer, p *Plan) error { return WriteJSONWith(w, p, JSONOptions{}) }

// WriteJSONWith is WriteJSON with options.
func WriteJSONWith(w io.Writer, p *Plan, opts JSONOptions) error {
	sum := jsonSummary{Summary: p.Summary}
	var unmanaged []Unmanaged
	var byPlatform map[syncd.Kind]PlatformCoverage
	if c := p.Coverage; c != nil {
		m, u, pct := c.Managed, len(c.Unmanaged), c.WholePercent()
		sum.Managed, sum.Unmanaged, sum.CoveragePercent = &m, &u, &pct
		byPlatform = c.ByPlatform
		if opts.ShowUnmanaged {
			unmanaged = c.Unmanaged
		}
	}
	out := jsonPlan{FormatVersion: FormatVersion, Summary: sum, UnmanagedObjects: unmanaged, CoverageByPlatform: byPlatform, Changes: []jsonChange{}, LoadFailed: p.LoadFailed, NoInventory: p.NoInventory, Partial: p.Partial(), Targets: p.Targets}
	for i := range p.Changes {
		c := &p.Changes[i]
		if !listed(c) {
			continue
		}
		jc := jsonChange{
			Kind:          c.Key.Kind,
			Name:          c.Key.Name,
			Action:        c.Action,
			RemoteID:      optString(c.RemoteID),
			BlockedReason: optString(c.Blocked),
			Fields:        make([]syncd.FieldChange, 0, len(c.Fields)),
			ReportOnly:    c.ReportOnly,
			Drift:         c.Drift,
			Error:         c.Error,
			Notes:         c.Notes,
		}
		for _, f := range c.Fields {
			jc.Fields = append(jc.Fields, shown(f))
		}
		out.Changes = append(out.Changes, jc)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// MarkdownOptions add what only a pull-request comment needs.
type MarkdownOptions struct {
	// CommentID distinguishes the sticky comments of several manifest
	// directories in one repository: the marker line becomes
	// <!-- syncd:plan:ID -->. It must pass ValidCommentID.
	CommentID string
	// LoadErrors are the manifests' load failures, one "path:line:col:
	// message" each, shown so that a reviewer need not open the CI log.
	LoadErrors []string
	// ShowUnmanaged adds the coverage line and the unmanaged live objects.
	ShowUnmanaged bool
}

// ValidCommentID reports whether id can go into the marker comment:
// letters, digits and . _ / -, without "--" (which would end an HTML comment).
func ValidCommentID(id string) bool {
	if id == "" || len(id) > 100 || strings.Contains(id, "--") {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._/-", r)
		if !ok {
			return false
		}
	}
	return true
}

// MarkdownMarker is the hidden first line a bot finds its sticky comment by.
func MarkdownMarker(commentID string) string {
	if commentID == "" {
		return "<!-- syncd:plan -->"
	}
	return "<!-- syncd:plan:" + commentID + " -->"
}

// WriteMarkdown writes the plan as a pull-request comment: the hidden
// marker line, a heading, a summary table, the notes a reviewer needs (no
// database, load failures), then one collapsible section per listed
// resource. Long values are cut in the tables (the JSON plan has them
// whole). It stays within MarkdownLimit by dropping field tables from the
// end, then resources, and says what it cut.
func WriteMarkdown(w io.Writer, p *Plan, opts MarkdownOptions) error {
	if opts.CommentID != "" && !ValidCommentID(opts.CommentID) {
		return fmt.Errorf("comment id %q: use letters, digits and . _ / - only", opts.CommentID)
	}
	_, err := io.WriteString(w, markdown(p, opts, MarkdownLimit))
	return err
}

// mdReserve is room kept for the note that says what was cut.
const mdReserve = 600

// Load failures shown in a comment: at most this many lines of at most
// this many characters (the CI log has them all).
const (
	mdLoadErrorLines = 50
	mdLoadErrorWidth = 300
)

func markdown(p *Plan, opts MarkdownOptions, limit int) string {
	var head strings.Builder
	head.WriteString(MarkdownMarker(opts.CommentID) + "\n")
	head.WriteString("### syncd plan\n\n")
	head.WriteString("**" + mdText(SummaryLine(p)) + "**\n\n")
	s := p.Summary
	head.WriteString("| create | update | replace | delete | adopt | noop | blocked |\n")
	head.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	fmt.Fprintf(&head, "| %d | %d | %d | %d | %d | %d | %d |\n\n", s.Create, s.Update, s.Replace, s.Delete, s.Adopt, s.Noop, s.Blocked)
	if p.NoInventory {
		head.WriteString("> **Note:** " + mdText(NoInventoryNote) + "\n\n")
	}
	if p.Partial() {
		head.WriteString("> **Note:** " + mdText(PartialNote(p.Targets)) + "\n\n")
	}
	if p.LoadFailed || len(opts.LoadErrors) > 0 {
		head.WriteString("> **Warning:** a manifest failed to load: no delete or replace is carried out until it is fixed.\n\n")
	}
	if len(opts.LoadErrors) > 0 {
		head.WriteString(mdLoadErrors(opts.LoadErrors))
	}
	if n := countErrors(p); n > 0 {
		fmt.Fprintf(&head, "> **Error:** %d resource(s) could not be planned.\n\n", n)
	}
	if opts.ShowUnmanaged {
		head.WriteString(markdownUnmanaged(p.Coverage))
	}

	var cs []*Change
	for i := range p.Changes {
		if c := &p.Changes[i]; shownToPeople(c) {
			cs = append(cs, c)
		}
	}
	full := make([]string, len(cs))
	short := make([]string, len(cs))
	total := 0
	shortened := false
	for i, c := range cs {
		var cut bool
		full[i], cut = mdBlock(c, markdownValueLimit)
		shortened = shortened || cut
		short[i] = mdLine(c)
		total += len(full[i])
	}
	if shortened {
		fmt.Fprintf(&head, "> Values longer than %d characters are shortened here; `syncd plan --format json` shows them whole.\n\n", markdownValueLimit)
	}
	total += head.Len()
	if total <= limit {
		return head.String() + strings.Join(full, "")
	}

	budget := limit - mdReserve
	var cut []string
	used := make([]string, len(cs))
	copy(used, full)
	dropped := 0
	for i := len(cs) - 1; i >= 0 && total > budget; i-- {
		total += len(short[i]) - len(used[i])
		used[i] = short[i]
		dropped++
	}
	if dropped > 0 {
		cut = append(cut, fmt.Sprintf("the field tables of the last %d resource(s) were left out", dropped))
	}
	omitted := 0
	for total > budget && len(used) > 0 {
		total -= len(used[len(used)-1])
		used = used[:len(used)-1]
		omitted++
	}
	if omitted > 0 {
		cut = append(cut, fmt.Sprintf("the last %d resource(s) are not listed", omitted))
	}
	var b strings.Builder
	b.WriteString(head.String())
	fmt.Fprintf(&b, "> **Note:** this plan was cut to fit a %d-character comment: %s. Run `syncd plan` for the full plan.\n\n",
		limit, strings.Join(cut, "; "))
	for _, u := range used {
		b.WriteString(u)
	}
	if omitted > 0 {
		fmt.Fprintf(&b, "\n…and %d more resource(s) not shown.\n", omitted)
	}
	return b.String()
}

// mdLoadErrors lists load failures in a code block, as the CLI prints them.
func mdLoadErrors(errs []string) string {
	lines := make([]string, 0, min(len(errs), mdLoadErrorLines)+1)
	for i, e := range errs {
		if i == mdLoadErrorLines {
			lines = append(lines, fmt.Sprintf("… and %d more (see the CI log)", len(errs)-i))
			break
		}
		e = strings.Join(strings.Fields(e), " ")
		if r := []rune(e); len(r) > mdLoadErrorWidth {
			e = string(r[:mdLoadErrorWidth]) + "…"
		}
		lines = append(lines, e)
	}
	body := strings.Join(lines, "\n")
	fence := "```"
	for strings.Contains(body, fence) {
		fence += "`"
	}
	return fmt.Sprintf("%s\n%s\n%s\n\n", fence, body, fence)
}

func mdSummary(c *Change) string {
	var b strings.Builder
	b.WriteString("<code>" + html.EscapeString(strings.TrimSpace(symbol(c)+" "+string(displayAction(c)))) + "</code> <b>" + html.EscapeString(c.Key.String()) + "</b>")
	if c.RemoteID != "" {
		b.WriteString(" (<code>" + html.EscapeString(c.RemoteID) + "</code>)")
	}
	if n := len(c.Fields); n > 0 {
		fmt.Fprintf(&b, " · %d field(s)", n)
	}
	if c.Drift {
		b.WriteString(" · drift")
	}
	if c.ReportOnly && c.Action != ActionNoop {
		b.WriteString(" · report only")
	}
	if c.Blocked != "" {
		b.WriteString(" · ⛔ blocked")
	}
	return b.String()
}

func displayAction(c *Change) Action {
	if c.Error != "" {
		return "error"
	}
	return c.Action
}

// mdLine is a resource's one-line entry, kept when its details are cut.
func mdLine(c *Change) string {
	s := "- " + mdSummary(c)
	if c.Error != "" {
		s += ": " + mdText(c.Error)
	} else if c.Blocked != "" {
		s += ": " + mdText(c.Blocked)
	}
	return s + "\n"
}

// mdBlock renders one resource; cut reports whether a value was shortened.
func mdBlock(c *Change, valueLimit int) (block string, cut bool) {
	var b strings.Builder
	b.WriteString("<details><summary>" + mdSummary(c) + "</summary>\n\n")
	if c.Error != "" {
		b.WriteString("**Error:** " + mdText(c.Error) + "\n\n")
	}
	if c.Blocked != "" {
		b.WriteString("**Blocked:** " + mdText(c.Blocked) + "\n\n")
	}
	for _, n := range c.Notes {
		b.WriteString("- " + mdText(n) + "\n")
	}
	if len(c.Notes) > 0 {
		b.WriteString("\n")
	}
	if len(c.Fields) > 0 {
		b.WriteString("| | Field | Before | After |\n| --- | --- | --- | --- |\n")
		for _, f := range c.Fields {
			f = shown(f)
			before, bcut := mdValue(f.Before, valueLimit)
			after, acut := mdValue(f.After, valueLimit)
			switch {
			case f.Unreadable:
				before, after = "*(unknown)*", "*"+unreadableSet+"*"
			case f.Sensitive:
				before, after = mdSensitive(f.Before, false), mdSensitive(f.After, f.Before != nil && f.After != nil)
			default:
				cut = cut || bcut || acut
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdText(fieldSymbol(f)), mdCode(f.Path), before, after)
		}
		b.WriteString("\n")
	}
	b.WriteString("</details>\n\n")
	return b.String(), cut
}

func mdSensitive(v any, changed bool) string {
	switch {
	case v == nil:
		return "*(absent)*"
	case changed:
		return "*" + sensitiveChanged + "*"
	}
	return "*" + syncd.Redacted + "*"
}

func mdValue(v any, limit int) (string, bool) {
	whole := jsonText(v, 0)
	s := jsonText(v, limit)
	return mdCode(s), s != whole
}

// mdCode puts s in a code span that a Markdown table cell keeps intact: the
// fence is longer than any backtick run inside, and pipes are escaped
// (GitHub splits cells on them even inside code).
func mdCode(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || longest > 0 {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdText escapes free text so Markdown and HTML show it literally.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '#':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\n':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
