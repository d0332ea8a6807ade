package notify

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Type is a notification's type.
type Type string

const (
	DriftOpened   Type = "drift_opened"
	DriftResolved Type = "drift_resolved"
	ChangeFailed  Type = "change_failed"
	ResourceStuck Type = "resource_stuck"
	RunFailed     Type = "run_failed"
)

// Schema names the payload format; it changes only with an incompatible
// change of the payload.
const Schema = "syncd.notification/v1"

// rule maps an audit event (its type, and its outcome when outcome is not
// empty) to a notification.
type rule struct {
	event   string
	outcome string
	notify  Type
}

// rules is the one table from audit events to notifications; the first
// match wins. A stuck resource is recorded as change_failed with outcome
// "stuck" (before the generic change_failed rule); the event types "stuck"
// and "resource_stuck" are accepted too, should a later migration add one.
var rules = []rule{
	{event: "drift_detected", notify: DriftOpened},
	{event: "drift_resolved", notify: DriftResolved},
	{event: "change_failed", outcome: "stuck", notify: ResourceStuck},
	{event: "resource_stuck", notify: ResourceStuck},
	{event: "stuck", notify: ResourceStuck},
	{event: "change_failed", notify: ChangeFailed},
	{event: "run_finished", outcome: "error", notify: RunFailed},
}

// auditTypes are the audit event types some rule reads.
func auditTypes() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rules {
		if !seen[r.event] {
			seen[r.event] = true
			out = append(out, r.event)
		}
	}
	return out
}

// classify returns the notification for an audit event, if any.
func classify(eventType, outcome string) (Type, bool) {
	for _, r := range rules {
		if r.event == eventType && (r.outcome == "" || r.outcome == outcome) {
			return r.notify, true
		}
	}
	return "", false
}

// auditRow is the part of an audit_events row a notification is built
// from. Changes is read for its paths only.
type auditRow struct {
	ID         int64
	Key        string
	OccurredAt time.Time
	RunID      string
	Type       string
	Kind       string
	Name       string
	RemoteID   string
	Action     string
	Changes    []byte
	Outcome    string
	Error      string
	Revision   string
	Mode       string
}

// Notification is the webhook payload (schema syncd.notification/v1).
// Every key is always present; a run event has resource null.
type Notification struct {
	Schema     string    `json:"schema"`
	Type       Type      `json:"type"`
	EventKey   string    `json:"event_key"`
	AuditID    int64     `json:"audit_id"`
	AuditEvent string    `json:"audit_event"`
	OccurredAt time.Time `json:"occurred_at"`
	Summary    string    `json:"summary"`
	Resource   *Resource `json:"resource"`
	Action     string    `json:"action"`
	Fields     []string  `json:"fields"`
	Outcome    string    `json:"outcome"`
	Error      string    `json:"error"`
	RunID      string    `json:"run_id"`
	Revision   string    `json:"revision"`
	Mode       string    `json:"mode"`
	Links      Links     `json:"links"`
}

// Resource names the resource a notification is about.
type Resource struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	RemoteID string `json:"remote_id"`
}

// Links point into the web console.
type Links struct {
	Console  string `json:"console"`
	Resource string `json:"resource"`
	Runs     string `json:"runs"`
	Drift    string `json:"drift"`
}

// maxError bounds the error text carried; the audit row keeps all of it.
const maxError = 500

// build makes the notification for row; ok is false when no rule maps it.
func build(row auditRow, consoleBase string) (Notification, bool) {
	typ, ok := classify(row.Type, row.Outcome)
	if !ok {
		return Notification{}, false
	}
	fields := paths(row.Changes)
	base := strings.TrimRight(consoleBase, "/")
	n := Notification{
		Schema: Schema, Type: typ, EventKey: row.Key, AuditID: row.ID, AuditEvent: row.Type,
		OccurredAt: row.OccurredAt.UTC(), Action: row.Action, Fields: fields,
		Outcome: row.Outcome, Error: truncate(row.Error, maxError), RunID: row.RunID,
		Revision: row.Revision, Mode: row.Mode,
		Links: Links{Console: base + "/", Runs: base + "/runs"},
	}
	if row.Kind != "" {
		n.Resource = &Resource{Kind: row.Kind, Name: row.Name, RemoteID: row.RemoteID}
		n.Links.Resource = base + "/resources/" + url.PathEscape(row.Kind) + "/" + url.PathEscape(row.Name)
	}
	if typ == DriftOpened || typ == DriftResolved {
		n.Links.Drift = base + "/drift"
	}
	n.Summary = summary(n)
	return n, true
}

// paths reads the JSON pointers of a redacted field-change list; the
// values next to them are never decoded. A list it cannot read gives no
// paths rather than holding up the notification.
func paths(changes []byte) []string {
	out := []string{}
	var fcs []struct {
		Path string `json:"path"`
	}
	if json.Unmarshal(changes, &fcs) != nil {
		return out
	}
	for _, f := range fcs {
		out = append(out, f.Path)
	}
	return out
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// title is a notification type as people read it.
func title(t Type) string {
	switch t {
	case DriftOpened:
		return "Drift opened"
	case DriftResolved:
		return "Drift resolved"
	case ChangeFailed:
		return "Change failed"
	case ResourceStuck:
		return "Resource stuck"
	case RunFailed:
		return "Run failed"
	}
	return string(t)
}

func summary(n Notification) string {
	what := "run " + n.RunID
	if n.Resource != nil {
		what = n.Resource.Kind + "/" + n.Resource.Name
	}
	s := title(n.Type) + ": " + what
	switch {
	case n.Type == DriftOpened:
		s += fmt.Sprintf(" (%d field(s) differ from git)", len(n.Fields))
	case n.Type == DriftResolved && n.Outcome != "":
		s += " (" + n.Outcome + ")"
	case n.Type == ChangeFailed && n.Action != "":
		s += " (" + n.Action + ")"
	}
	return s
}
