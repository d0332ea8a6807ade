package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		event, outcome string
		want           Type
		ok             bool
	}{
		{"drift_detected", "open", DriftOpened, true},
		{"drift_resolved", "reverted", DriftResolved, true},
		{"change_failed", "failed", ChangeFailed, true},
		{"change_failed", "stuck", ResourceStuck, true},
		{"stuck", "", ResourceStuck, true},
		{"resource_stuck", "", ResourceStuck, true},
		{"run_finished", "error", RunFailed, true},
		{"run_finished", "ok", "", false},
		{"run_finished", "failed", "", false}, // its failed changes notify each
		{"change_applied", "applied", "", false},
		{"change_planned", "report_only", "", false},
		{"run_started", "started", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.event+"/"+tc.outcome, func(t *testing.T) {
			got, ok := classify(tc.event, tc.outcome)
			if got != tc.want || ok != tc.ok {
				t.Errorf("classify(%q, %q) = %q, %v; want %q, %v", tc.event, tc.outcome, got, ok, tc.want, tc.ok)
			}
		})
	}
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func TestBuild(t *testing.T) {
	drift := auditRow{
		ID: 7, Key: "drift-3-detected", OccurredAt: t0, RunID: "run-1", Type: "drift_detected",
		Kind: "MakeConnection", Name: "acme apikey", RemoteID: "acme-crm", Outcome: "open",
		Changes:  []byte(`[{"path":"/label","before":"A","after":"B"},{"path":"/parameters/apiKey","before":"(sensitive)","after":"(sensitive)","sensitive":true}]`),
		Revision: "abc123", Mode: "report",
	}
	runFailed := auditRow{ID: 9, Key: "k9", OccurredAt: t0, RunID: "run-2", Type: "run_finished", Outcome: "error", Error: "make: GET /sdk/apps: HTTP 401", Mode: "apply"}
	tests := []struct {
		name string
		row  auditRow
		want Notification
	}{
		{"drift opened", drift, Notification{
			Schema: Schema, Type: DriftOpened, EventKey: "drift-3-detected", AuditID: 7, AuditEvent: "drift_detected",
			OccurredAt: t0, Summary: "Drift opened: MakeConnection/acme apikey (2 field(s) differ from git)",
			Resource: &Resource{Kind: "MakeConnection", Name: "acme apikey", RemoteID: "acme-crm"},
			Fields:   []string{"/label", "/parameters/apiKey"}, Outcome: "open", RunID: "run-1", Revision: "abc123", Mode: "report",
			Links: Links{Console: "https://syncd.example/", Resource: "https://syncd.example/resources/MakeConnection/acme%20apikey",
				Runs: "https://syncd.example/runs", Drift: "https://syncd.example/drift"},
		}},
		{"run failed", runFailed, Notification{
			Schema: Schema, Type: RunFailed, EventKey: "k9", AuditID: 9, AuditEvent: "run_finished", OccurredAt: t0,
			Summary: "Run failed: run run-2", Fields: []string{}, Outcome: "error", Error: "make: GET /sdk/apps: HTTP 401",
			RunID: "run-2", Mode: "apply", Links: Links{Console: "https://syncd.example/", Runs: "https://syncd.example/runs"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := build(tc.row, "https://syncd.example/")
			if !ok {
				t.Fatal("not mapped")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("build (-want +got):\n%s", diff)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			// The values next to the paths are never carried.
			for _, v := range []string{`"A"`, `"B"`, "(sensitive)", "before", "after"} {
				if strings.Contains(string(b), v) {
					t.Errorf("payload carries %s: %s", v, b)
				}
			}
		})
	}
}

// The schema is stable: every key is present, also when empty.
func TestPayloadKeys(t *testing.T) {
	n, _ := build(auditRow{Key: "k", Type: "run_finished", Outcome: "error", OccurredAt: t0}, "http://127.0.0.1:8080")
	b, _ := json.Marshal(n)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	want := []string{"action", "audit_event", "audit_id", "error", "event_key", "fields", "links", "mode", "occurred_at",
		"outcome", "resource", "revision", "run_id", "schema", "summary", "type"}
	if diff := cmp.Diff(want, keys, cmpSorted); diff != "" {
		t.Errorf("payload keys (-want +got):\n%s", diff)
	}
	if m["resource"] != nil {
		t.Errorf("resource of a run event = %v, want null", m["resource"])
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func TestSlackMessage(t *testing.T) {
	n, _ := build(auditRow{
		Key: "drift-1-detected", Type: "drift_detected", Kind: "MakeConnection", Name: "crm", RemoteID: "r<1>",
		RunID: "run-1", Revision: "abc", OccurredAt: t0,
		Changes: []byte(`[{"path":"/label"},{"path":"/a&b"}]`),
	}, "http://console")
	got := slackMessage(n)
	want := slackPayload{
		Text: "Drift opened: MakeConnection/crm (2 field(s) differ from git)",
		Blocks: []slackBlock{
			{Type: "section", Text: &slackText{Type: "mrkdwn", Text: "*Drift opened* on `MakeConnection/crm` (remote id `r&lt;1&gt;`)"}},
			{Type: "section", Text: &slackText{Type: "mrkdwn", Text: "• `/label`\n• `/a&amp;b`"}},
			{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: "run `run-1` · revision `abc` · <http://console/resources/MakeConnection/crm|Open in the syncd console>"}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slack message (-want +got):\n%s", diff)
	}

	// Many fields: one line each up to the limit, then a count.
	var changes []string
	for i := range maxSlackFields + 5 {
		changes = append(changes, `{"path":"/f`+string(rune('a'+i))+`"}`)
	}
	n, _ = build(auditRow{Key: "k", Type: "drift_detected", Kind: "K", Name: "n", OccurredAt: t0, Changes: []byte("[" + strings.Join(changes, ",") + "]")}, "http://c")
	lines := strings.Split(slackMessage(n).Blocks[1].Text.Text, "\n")
	if len(lines) != maxSlackFields+1 || lines[maxSlackFields] != "… and 5 more" {
		t.Errorf("field lines = %d, last %q; want %d and a count", len(lines), lines[len(lines)-1], maxSlackFields+1)
	}
}

func TestSignVerify(t *testing.T) {
	secret, body := []byte("k"), []byte(`{"a":1}`)
	// echo -n '{"a":1}' | openssl dgst -sha256 -hmac k
	const want = "sha256=c3a92ff9e274cdcce27a58c15a78ec6dcbbdbd0038a87e7a11baef2028fd8bff"
	got := Sign(secret, body)
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if !Verify(secret, body, got) {
		t.Errorf("Verify(Sign()) = false")
	}
	if Verify([]byte("other"), body, got) || Verify(secret, []byte(`{"a":2}`), got) {
		t.Error("Verify accepted a wrong key or body")
	}
}

func TestBackoff(t *testing.T) {
	base, max := time.Second, 10*time.Second
	tests := []struct {
		attempt int
		want    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {40, 10 * time.Second}}
	for _, tc := range tests {
		if got := backoff(tc.attempt, base, max); got != tc.want {
			t.Errorf("backoff(%d) = %s, want %s", tc.attempt, got, tc.want)
		}
	}
}

// A bad URL is refused without being quoted: it may hold a token.
func TestNewRefusesBadURLWithoutQuotingIt(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no database", Options{Webhooks: []string{"https://x"}, Secret: []byte("s")}, "need a database"},
		{"webhook without secret", Options{DatabaseURL: "postgres://h/db", Webhooks: []string{"https://x"}}, "SYNCD_NOTIFY_SECRET"},
		{"not http", Options{DatabaseURL: "postgres://h/db", Slack: []string{"ftp://hooks/T0KEN-SECRET"}}, "not an http(s) URL"},
		{"no host", Options{DatabaseURL: "postgres://h/db", Slack: []string{"https:///T0KEN-SECRET"}}, "not an http(s) URL"},
		{"nothing", Options{DatabaseURL: "postgres://h/db"}, "no webhook or Slack URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "T0KEN-SECRET") {
				t.Errorf("error quotes the URL: %v", err)
			}
		})
	}
}
