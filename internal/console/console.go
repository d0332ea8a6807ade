package console

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// PageSize is how many runs or drift episodes a page lists.
const PageSize = 25

// historyLimit is how many audit events a resource page shows.
const historyLimit = 100

// Status is the daemon's state at one moment, as the console shows it.
type Status struct {
	Mode     syncd.Mode
	Leader   bool
	Schedule string    // cron spec; "" when there are no scheduled scans
	NextScan time.Time // zero when unknown or not scheduled
	// Revision is the manifests' git commit ("" outside git).
	Revision string
	LastRun  *LastRun // nil before the first run finished
	// Plan is the last run's plan (nil before the first run): the pending
	// changes, drift seen by the planner and per-resource errors.
	Plan *planner.Plan
	// Declared lists the resources the manifests declare (the last good
	// set), with where each comes from.
	Declared []Declared
	// LoadErrors are the manifests' current load errors, if any.
	LoadErrors []string
	// Stuck lists resources the daemon stopped retrying.
	Stuck      []syncd.Key
	SpoolDepth int
}

// LastRun describes the last reconcile.
type LastRun struct {
	ID                    string
	Trigger               string
	Mode                  string
	StartedAt, FinishedAt time.Time
	Outcome               string // ok, failed, error
	Error                 string
	Applied, Failed       int
	Requests              int64 // API requests made during the run
}

// Declared is one resource declared by a manifest.
type Declared struct {
	Key  syncd.Key
	File string
}

// StatusSource gives the daemon's current status.
type StatusSource interface {
	ConsoleStatus() Status
}

// Store is what the console reads from the audit store.
type Store interface {
	Events(ctx context.Context, f audit.Filter) ([]audit.StoredEvent, error)
	DriftHistory(ctx context.Context, key syncd.Key) ([]audit.Drift, error)
	OpenDrifts(ctx context.Context) ([]audit.Drift, error)
	Runs(ctx context.Context, offset, limit int) ([]syncd.RunRecord, int, error)
	RunResources(ctx context.Context, runIDs []string) (map[string][]syncd.Key, error)
	Drifts(ctx context.Context, offset, limit int) ([]audit.Drift, int, error)
}

// Options tune the console.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
}

// Resource states.
const (
	StateInSync    = "in sync"
	StateDrifted   = "drifted"
	StatePending   = "pending"
	StateStuck     = "stuck"
	StateError     = "error"
	StateUnplanned = "not planned yet"
)

var states = []string{StateInSync, StateDrifted, StatePending, StateStuck, StateError, StateUnplanned}

type handler struct {
	src   StatusSource
	store Store // nil without a database
	log   *slog.Logger
	now   func() time.Time
	pages map[string]*template.Template
}

// New returns the console's handler, which serves every path below /.
// store may be nil: the pages that need it then say so.
func New(src StatusSource, store Store, opts Options) http.Handler {
	h := &handler{src: src, store: store, log: opts.Logger, now: opts.Now, pages: map[string]*template.Template{}}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	for _, name := range []string{"overview", "resources", "resource", "runs", "drift", "notfound"} {
		h.pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.overview)
	mux.HandleFunc("GET /resources", h.resources)
	mux.HandleFunc("GET /resources/{kind}/{name}", h.resource)
	mux.HandleFunc("GET /runs", h.runs)
	mux.HandleFunc("GET /drift", h.drift)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusNotFound, "notfound", page{Title: "Not found"})
	})
	return secureHeaders(mux)
}

func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	Status  Status
	Warning string // shown at the top, e.g. a query that failed
	Data    any
}

func (h *handler) render(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	var b strings.Builder
	if err := h.pages[name].Execute(&b, p); err != nil {
		h.log.Error("console: render", "page", name, "error", err)
		http.Error(w, "console: cannot render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(b.String()))
	}
}

// queryFailed logs err and returns the warning shown instead of the data.
func (h *handler) queryFailed(what string, err error) string {
	h.log.Warn("console: query failed", "query", what, "error", err)
	return fmt.Sprintf("The audit database could not be read (%s); this page may be incomplete.", what)
}

const noStore = "No audit database is configured: history is not available."

// resourceRow is one line of the resources table.
type resourceRow struct {
	Key        syncd.Key
	Platform   string
	State      string
	RemoteID   string
	File       string
	LastChange *audit.StoredEvent
	Change     *planner.Change
}

// rows joins the declared resources, the last plan, the open drifts and
// the stuck list into one row per resource (plus deletes the plan lists
// for resources no longer declared).
func rows(st Status, open []audit.Drift) []resourceRow {
	byKey := map[syncd.Key]*resourceRow{}
	var out []*resourceRow
	add := func(k syncd.Key) *resourceRow {
		if r, ok := byKey[k]; ok {
			return r
		}
		r := &resourceRow{Key: k, Platform: platform(k.Kind), State: StateUnplanned}
		byKey[k] = r
		out = append(out, r)
		return r
	}
	for _, d := range st.Declared {
		add(d.Key).File = d.File
	}
	if st.Plan != nil {
		for i := range st.Plan.Changes {
			c := &st.Plan.Changes[i]
			r := add(c.Key)
			r.Change, r.RemoteID = c, c.RemoteID
			switch {
			case c.Error != "":
				r.State = StateError
			case c.Drift:
				r.State = StateDrifted
			case c.Action != planner.ActionNoop:
				r.State = StatePending
			default:
				r.State = StateInSync
			}
		}
	}
	for _, d := range open {
		r := add(d.Key)
		if r.State != StateError {
			r.State = StateDrifted
		}
		if r.RemoteID == "" {
			r.RemoteID = d.RemoteID
		}
	}
	for _, k := range st.Stuck {
		add(k).State = StateStuck
	}
	res := make([]resourceRow, len(out))
	for i, r := range out {
		res[i] = *r
	}
	slices.SortFunc(res, func(a, b resourceRow) int { return a.Key.Compare(b.Key) })
	return res
}

// platform names k's platform for people (its registry title).
func platform(k syncd.Kind) string {
	if p, ok := registry.For(k); ok {
		return p.Title()
	}
	return string(k)
}

type overviewData struct {
	Counts     []stateCount
	OpenDrifts []audit.Drift
	Total      int
}

type stateCount struct {
	State string
	N     int
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	st := h.src.ConsoleStatus()
	p := page{Title: "Overview", Nav: "overview", Status: st}
	var open []audit.Drift
	if h.store == nil {
		p.Warning = noStore
	} else if o, err := h.store.OpenDrifts(r.Context()); err != nil {
		p.Warning = h.queryFailed("open drifts", err)
	} else {
		open = o
	}
	rs := rows(st, open)
	n := map[string]int{}
	for _, row := range rs {
		n[row.State]++
	}
	d := overviewData{OpenDrifts: open, Total: len(rs)}
	for _, s := range states {
		if s == StateUnplanned && n[s] == 0 {
			continue
		}
		d.Counts = append(d.Counts, stateCount{s, n[s]})
	}
	p.Data = d
	h.render(w, r, http.StatusOK, "overview", p)
}

type resourcesData struct {
	Rows       []resourceRow
	Kinds      []string
	States     []string
	Kind       string
	State      string
	Query      string
	Total      int
	LastChange bool
}

func (h *handler) resources(w http.ResponseWriter, r *http.Request) {
	st := h.src.ConsoleStatus()
	p := page{Title: "Resources", Nav: "resources", Status: st}
	q := r.URL.Query()
	d := resourcesData{States: states, Kind: q.Get("kind"), State: q.Get("state"), Query: strings.TrimSpace(q.Get("q"))}
	for _, pl := range registry.All() {
		d.Kinds = append(d.Kinds, string(pl.Kind()))
	}
	var open []audit.Drift
	if h.store == nil {
		p.Warning = noStore
	} else if o, err := h.store.OpenDrifts(r.Context()); err != nil {
		p.Warning = h.queryFailed("open drifts", err)
	} else {
		open = o
	}
	all := rows(st, open)
	d.Total = len(all)
	needle := strings.ToLower(d.Query)
	for _, row := range all {
		if d.Kind != "" && string(row.Key.Kind) != d.Kind || d.State != "" && row.State != d.State {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(row.Key.String()+" "+row.RemoteID+" "+row.File), needle) {
			continue
		}
		d.Rows = append(d.Rows, row)
	}
	if h.store != nil && p.Warning == "" {
		// The last change of each listed resource: one small query each,
		// bounded by what the filter left.
		for i := range d.Rows {
			key := d.Rows[i].Key
			evs, err := h.store.Events(r.Context(), audit.Filter{Key: &key, Limit: 1})
			if err != nil {
				p.Warning = h.queryFailed("last change", err)
				break
			}
			if len(evs) == 1 {
				d.Rows[i].LastChange = &evs[0]
			}
		}
		d.LastChange = true
	}
	p.Data = d
	h.render(w, r, http.StatusOK, "resources", p)
}

type resourceData struct {
	Row       resourceRow
	Open      *audit.Drift
	Pending   string // the plan's text for this resource; "" when nothing is pending
	Episodes  []audit.Drift
	History   []historyEntry
	Declared  bool
	HistoryOK bool
}

func (h *handler) resource(w http.ResponseWriter, r *http.Request) {
	st := h.src.ConsoleStatus()
	key := syncd.Key{Kind: syncd.Kind(r.PathValue("kind")), Name: r.PathValue("name")}
	if _, ok := registry.For(key.Kind); !ok {
		h.render(w, r, http.StatusNotFound, "notfound", page{Title: "Not found", Status: st})
		return
	}
	p := page{Title: key.String(), Nav: "resources", Status: st}
	d := resourceData{}
	var open []audit.Drift
	if h.store == nil {
		p.Warning = noStore
	} else {
		eps, err := h.store.DriftHistory(r.Context(), key)
		if err != nil {
			p.Warning = h.queryFailed("drift history", err)
		}
		for _, ep := range eps {
			if ep.Resolution == "" {
				open = append(open, ep)
				d.Open = &ep
			}
		}
		slices.Reverse(eps)
		d.Episodes = eps
		evs, err := h.store.Events(r.Context(), audit.Filter{Key: &key, Limit: historyLimit})
		if err != nil {
			p.Warning = h.queryFailed("history", err)
		}
		slices.Reverse(evs)
		d.History, d.HistoryOK = collapse(evs), err == nil
	}
	found := false
	for _, row := range rows(st, open) {
		if row.Key == key {
			d.Row, found = row, true
		}
	}
	for _, dec := range st.Declared {
		d.Declared = d.Declared || dec.Key == key
	}
	if !found && len(d.History) == 0 && len(d.Episodes) == 0 {
		h.render(w, r, http.StatusNotFound, "notfound", page{Title: "Not found", Status: st})
		return
	}
	if !found {
		d.Row = resourceRow{Key: key, Platform: platform(key.Kind), State: "not declared"}
	}
	if c := d.Row.Change; c != nil && (c.Action != planner.ActionNoop || c.Error != "" || len(c.Notes) > 0) {
		d.Pending = planText(c)
	}
	p.Data = d
	h.render(w, r, http.StatusOK, "resource", p)
}

// historyEntry is one line of a resource's history: an event, or a run of
// identical ones in a row (a report-only daemon plans the same change at
// every scan), shown once with how many and since when.
type historyEntry struct {
	audit.StoredEvent
	Repeats int       // events in the run; 1 for a single event
	Since   time.Time // the oldest one's time when Repeats > 1
}

// collapse groups consecutive events, newest first, that differ only in
// time and run.
func collapse(evs []audit.StoredEvent) []historyEntry {
	var out []historyEntry
	for _, e := range evs {
		if n := len(out); n > 0 && sameEvent(out[n-1].Event, e.Event) {
			out[n-1].Repeats++
			out[n-1].Since = e.Event.OccurredAt
			continue
		}
		out = append(out, historyEntry{StoredEvent: e, Repeats: 1})
	}
	return out
}

func sameEvent(a, b syncd.Event) bool {
	if a.Type != b.Type || a.Action != b.Action || a.Outcome != b.Outcome || a.Error != b.Error ||
		a.ManifestRevision != b.ManifestRevision || a.Actor != b.Actor || len(a.Changes) != len(b.Changes) {
		return false
	}
	for i := range a.Changes {
		if a.Changes[i].Path != b.Changes[i].Path {
			return false
		}
	}
	return true
}

// planText renders one change the way `syncd plan` shows it, without the
// plan's summary line.
func planText(c *planner.Change) string {
	var b strings.Builder
	if err := planner.WriteText(&b, &planner.Plan{Changes: []planner.Change{*c}}, false); err != nil {
		return "(the change cannot be rendered: " + err.Error() + ")"
	}
	text := strings.TrimRight(b.String(), "\n")
	if i := strings.LastIndex(text, "\n"); i >= 0 {
		text = text[:i] // the summary line counts this one change only
	}
	text = strings.TrimPrefix(text, "syncd will perform the following actions:\n\n")
	return strings.TrimRight(text, "\n")
}

type pager struct {
	Page, Pages, Total int
	Prev, Next         string
}

func pageOf(r *http.Request, total int) pager {
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pages := max(1, (total+PageSize-1)/PageSize)
	n = min(max(n, 1), pages)
	p := pager{Page: n, Pages: pages, Total: total}
	link := func(i int) string { return r.URL.Path + "?" + url.Values{"page": {strconv.Itoa(i)}}.Encode() }
	if n > 1 {
		p.Prev = link(n - 1)
	}
	if n < pages {
		p.Next = link(n + 1)
	}
	return p
}

func requestedPage(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	return max(n, 1)
}

type runRow struct {
	syncd.RunRecord
	Requests  int64
	Summary   string
	Resources []syncd.Key
}

type runsData struct {
	Runs  []runRow
	Pager pager
}

func (h *handler) runs(w http.ResponseWriter, r *http.Request) {
	st := h.src.ConsoleStatus()
	p := page{Title: "Runs", Nav: "runs", Status: st}
	d := runsData{Pager: pageOf(r, 0)}
	if h.store == nil {
		p.Warning = noStore
		p.Data = d
		h.render(w, r, http.StatusOK, "runs", p)
		return
	}
	list, total, err := fetchPage(r, h.store.Runs)
	if err != nil {
		p.Warning = h.queryFailed("runs", err)
	}
	d.Pager = pageOf(r, total)
	ids := make([]string, len(list))
	for i, run := range list {
		ids[i] = run.ID
	}
	touched := map[string][]syncd.Key{}
	if len(ids) > 0 {
		if touched, err = h.store.RunResources(r.Context(), ids); err != nil {
			p.Warning = h.queryFailed("resources of runs", err)
		}
	}
	for _, run := range list {
		d.Runs = append(d.Runs, runRow{RunRecord: run, Requests: requestCount(run.Requests), Summary: summaryText(run.Summary), Resources: touched[run.ID]})
	}
	p.Data = d
	h.render(w, r, http.StatusOK, "runs", p)
}

// fetchPage reads the page the request asks for; past the last page it
// reads the last one instead.
func fetchPage[T any](r *http.Request, fetch func(ctx context.Context, offset, limit int) ([]T, int, error)) ([]T, int, error) {
	list, total, err := fetch(r.Context(), (requestedPage(r)-1)*PageSize, PageSize)
	if err == nil && len(list) == 0 && total > 0 {
		list, total, err = fetch(r.Context(), (pageOf(r, total).Page-1)*PageSize, PageSize)
	}
	return list, total, err
}

// requestCount adds up a run's stored request counts: platform -> HTTP
// status -> count, as the runs table holds them.
func requestCount(v any) int64 {
	raw, ok := v.(json.RawMessage)
	if !ok {
		return 0
	}
	var byPlatform map[string]map[string]int64
	if json.Unmarshal(raw, &byPlatform) != nil {
		return 0
	}
	var n int64
	for _, byStatus := range byPlatform {
		for _, c := range byStatus {
			n += c
		}
	}
	return n
}

// summaryText shows a stored plan summary as "1 update, 2 noop".
func summaryText(v any) string {
	raw, ok := v.(json.RawMessage)
	if !ok {
		return ""
	}
	var s planner.Summary
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{s.Create, "create"}, {s.Update, "update"}, {s.Replace, "replace"}, {s.Delete, "delete"}, {s.Adopt, "adopt"}, {s.Blocked, "blocked"}, {s.Noop, "in sync"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return strings.Join(parts, ", ")
}

type driftData struct {
	Episodes []audit.Drift
	Pager    pager
}

func (h *handler) drift(w http.ResponseWriter, r *http.Request) {
	st := h.src.ConsoleStatus()
	p := page{Title: "Drift history", Nav: "drift", Status: st}
	d := driftData{Pager: pageOf(r, 0)}
	if h.store == nil {
		p.Warning = noStore
		p.Data = d
		h.render(w, r, http.StatusOK, "drift", p)
		return
	}
	list, total, err := fetchPage(r, h.store.Drifts)
	if err != nil {
		p.Warning = h.queryFailed("drift episodes", err)
	}
	d.Episodes, d.Pager = list, pageOf(r, total)
	p.Data = d
	h.render(w, r, http.StatusOK, "drift", p)
}

var funcs = template.FuncMap{
	"resURL": func(k syncd.Key) string {
		return "/resources/" + url.PathEscape(string(k.Kind)) + "/" + url.PathEscape(k.Name)
	},
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"duration": func(a, b time.Time) string {
		if a.IsZero() || b.IsZero() {
			return "—"
		}
		return b.Sub(a).Round(time.Millisecond).String()
	},
	"short": func(rev string) string {
		if len(rev) > 12 {
			return rev[:12]
		}
		return rev
	},
	"stateClass": func(s string) string { return "state-" + strings.ReplaceAll(s, " ", "-") },
	"before":     func(f syncd.FieldChange) string { return shownValue(f, f.Before) },
	"after":      func(f syncd.FieldChange) string { return shownValue(f, f.After) },
	"paths": func(cs []syncd.FieldChange) string {
		ps := make([]string, len(cs))
		for i, c := range cs {
			ps[i] = c.Path
		}
		return strings.Join(ps, ", ")
	},
	"activeFields": func(fs []audit.DriftField) int {
		n := 0
		for _, f := range fs {
			if f.ResolvedAt == nil {
				n++
			}
		}
		return n
	},
	"eventLabel": func(t syncd.EventType) string { return strings.ReplaceAll(string(t), "_", " ") },
	"kindOf":     func(k syncd.Key) string { return string(k.Kind) },
}

// shownValue is a field's value as the console shows it: a sensitive field
// is (sensitive) whatever it holds; an absent value is "(absent)".
func shownValue(f syncd.FieldChange, v any) string {
	switch {
	case v == nil:
		return "(absent)"
	case f.Sensitive:
		return syncd.Redacted
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
