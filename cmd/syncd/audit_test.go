package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/syncd"
)

const cliSecret = "cli-s3cret-9b2e"

var cliT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// seedAudit records a small history: a run, a change, a drift that stays
// open and one that is resolved.
func seedAudit(t *testing.T) string {
	t.Helper()
	dsn := pgtest.Database(t)
	now := cliT0
	clock := func() time.Time { return now }
	ctx := context.Background()
	s, err := audit.Open(ctx, dsn, audit.Options{SpoolDir: t.TempDir(), Migrate: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := syncd.Key{Kind: syncd.MakeConnection, Name: "acme-oauth"}
	b := syncd.Key{Kind: syncd.PatchworksConnector, Name: "shopify"}
	if err := s.Record(ctx,
		syncd.Event{ID: "e1", OccurredAt: now, RunID: "run-1", Type: syncd.EventRunStarted, Mode: syncd.ModeApply, Actor: "ci"},
		syncd.Event{ID: "e2", OccurredAt: now.Add(time.Second), RunID: "run-1", Type: syncd.EventChangeApplied,
			Kind: a.Kind, Name: a.Name, RemoteID: "conn-1", Action: "update", Outcome: "ok", Mode: syncd.ModeApply, Actor: "ci",
			Changes: []syncd.FieldChange{
				{Path: "/label", Before: "Old", After: "New"},
				{Path: "/common/clientSecret", Before: syncd.Redacted, After: syncd.Redacted, Sensitive: true},
			}},
		syncd.Event{ID: "e3", OccurredAt: now.Add(2 * time.Second), RunID: "run-1", Type: syncd.EventChangeFailed,
			Kind: b.Kind, Name: b.Name, Action: "create", Outcome: "failed", Error: "patchworks: 422\ninvalid timezone"},
	); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if _, err := s.ScanDrift(ctx, audit.DriftScan{Run: syncd.Run{ID: "run-2", Mode: "report"}, Scanned: []syncd.Key{a, b},
		Drifted: map[syncd.Key]audit.DriftObservation{
			a: {RemoteID: "conn-1", Fields: []syncd.FieldChange{{Path: "/common/clientSecret", Before: cliSecret, After: "x", Sensitive: true}}},
			b: {RemoteID: "17", Fields: []syncd.FieldChange{{Path: "/timezone", Before: "UTC", After: "Europe/London"}}},
		}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Minute)
	if _, err := s.ResolveDrift(ctx, b, audit.ResolvedByApply, "run-3"); err != nil {
		t.Fatal(err)
	}
	return dsn
}

func TestAuditCommandOutput(t *testing.T) {
	dsn := seedAudit(t)
	db := databaseFlag{DatabaseURL: dsn}
	now := func() time.Time { return cliT0.Add(2 * time.Hour) }
	tests := []struct {
		name string
		cmd  auditShowCmd
		want string
	}{
		{
			name: "text",
			cmd:  auditShowCmd{databaseFlag: db, Format: "text"},
			want: `TIME                  EVENT           RESOURCE                     REMOTE ID  ACTION  OUTCOME  RUN    CHANGED                      ERROR
2026-03-01T12:00:00Z  run_started     -                            -          -       -        run-1  -                            -
2026-03-01T12:00:01Z  change_applied  MakeConnection/acme-oauth    conn-1     update  ok       run-1  /label,/common/clientSecret  -
2026-03-01T12:00:02Z  change_failed   PatchworksConnector/shopify  -          create  failed   run-1  -                            patchworks: 422 invalid timezone
2026-03-01T13:00:00Z  drift_detected  MakeConnection/acme-oauth    conn-1     -       open     run-2  /common/clientSecret         -
2026-03-01T13:00:00Z  drift_detected  PatchworksConnector/shopify  17         -       open     run-2  /timezone                    -
2026-03-01T13:30:00Z  drift_resolved  PatchworksConnector/shopify  17         -       apply    run-3  /timezone                    -
`,
		},
		{
			name: "since and resource",
			cmd:  auditShowCmd{databaseFlag: db, Format: "text", Since: sinceDuration(90 * time.Minute), Resource: "PatchworksConnector/shopify", now: now},
			want: `TIME                  EVENT           RESOURCE                     REMOTE ID  ACTION  OUTCOME  RUN    CHANGED    ERROR
2026-03-01T13:00:00Z  drift_detected  PatchworksConnector/shopify  17         -       open     run-2  /timezone  -
2026-03-01T13:30:00Z  drift_resolved  PatchworksConnector/shopify  17         -       apply    run-3  /timezone  -
`,
		},
		{
			name: "json",
			cmd:  auditShowCmd{databaseFlag: db, Format: "json", Limit: 1},
			want: `{
  "format_version": 1,
  "events": [
    {
      "id": 6,
      "event_key": "drift-2-resolved",
      "occurred_at": "2026-03-01T13:30:00Z",
      "run_id": "run-3",
      "event_type": "drift_resolved",
      "resource_kind": "PatchworksConnector",
      "resource_name": "shopify",
      "remote_id": "17",
      "action": "",
      "changes": [
        {
          "path": "/timezone",
          "before": "UTC",
          "after": "Europe/London"
        }
      ],
      "outcome": "apply",
      "error": "",
      "manifest_revision": "",
      "mode": "",
      "actor": ""
    }
  ]
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			tt.cmd.out = &out
			if err := tt.cmd.Run(context.Background(), &Globals{LogLevel: "error"}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("output (-want +got)\n%s", diff)
			}
			if strings.Contains(out.String(), cliSecret) {
				t.Error("the secret is in the output")
			}
		})
	}
}

func TestDriftCommandOutput(t *testing.T) {
	dsn := seedAudit(t)
	now := func() time.Time { return cliT0.Add(27*time.Hour + 5*time.Minute) }
	tests := []struct {
		format string
		want   string
	}{
		{"text", `RESOURCE                   REMOTE ID  AGE   FIRST SEEN            LAST SEEN             SCANS  FIELDS
MakeConnection/acme-oauth  conn-1     1d2h  2026-03-01T13:00:00Z  2026-03-01T13:00:00Z  1      /common/clientSecret
`},
		{"markdown", "### Open drift (1)\n\n" +
			"| Resource | Remote ID | Age | First seen | Last seen | Scans | Fields |\n" +
			"| --- | --- | --- | --- | --- | ---: | --- |\n" +
			"| `MakeConnection/acme-oauth` | conn-1 | 1d2h | 2026-03-01T13:00:00Z | 2026-03-01T13:00:00Z | 1 | `/common/clientSecret` |\n"},
		{"json", `{
  "format_version": 1,
  "open_drifts": [
    {
      "kind": "MakeConnection",
      "name": "acme-oauth",
      "remote_id": "conn-1",
      "first_seen": "2026-03-01T13:00:00Z",
      "last_seen": "2026-03-01T13:00:00Z",
      "age_seconds": 93900,
      "occurrences": 1,
      "fields": [
        {
          "path": "/common/clientSecret",
          "before": "(sensitive)",
          "after": "(sensitive)",
          "sensitive": true,
          "first_seen": "2026-03-01T13:00:00Z",
          "last_seen": "2026-03-01T13:00:00Z"
        }
      ]
    }
  ],
  "stuck": []
}
`},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var out bytes.Buffer
			cmd := driftCmd{databaseFlag: databaseFlag{DatabaseURL: dsn}, Format: tt.format, out: &out, now: now}
			if err := cmd.Run(context.Background(), &Globals{LogLevel: "error"}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("output (-want +got)\n%s", diff)
			}
			if strings.Contains(out.String(), cliSecret) {
				t.Error("the secret is in the output")
			}
		})
	}
}

func TestAuditVerifyCommand(t *testing.T) {
	dsn := seedAudit(t)
	var out bytes.Buffer
	cmd := auditVerifyCmd{databaseFlag: databaseFlag{DatabaseURL: dsn}, out: &out}
	g := &Globals{LogLevel: "error"}
	if err := cmd.Run(context.Background(), g); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	if got, want := out.String(), "audit chain intact: 6 rows verified (NOT keyed: anyone who can write the table can forge it; set SYNCD_AUDIT_KEY)\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		`ALTER TABLE audit_events DISABLE TRIGGER USER`,
		`UPDATE audit_events SET outcome = 'ok' WHERE id = 3`,
		`ALTER TABLE audit_events ENABLE TRIGGER USER`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	err = cmd.Run(ctx, g)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "row id 3") {
		t.Fatalf("tampered chain: got %v, want exit 1 naming row id 3", err)
	}
	if !strings.Contains(out.String(), "row id 3: row content does not match") {
		t.Errorf("output does not name the row:\n%s", out.String())
	}
}

// TestAuditCommandLine parses the commands as a user types them, the
// default subcommand included.
func TestAuditCommandLine(t *testing.T) {
	dsn := seedAudit(t)
	t.Setenv("SYNCD_DATABASE_URL", "")
	os.Unsetenv("SYNCD_DATABASE_URL") // t.Setenv restores it
	t.Setenv("DATABASE_URL", dsn)     // read when SYNCD_DATABASE_URL is unset
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"audit"}, 0},
		{[]string{"audit", "--since", "1h", "--resource", "MakeConnection/acme-oauth", "--format", "json"}, 0},
		{[]string{"audit", "verify"}, 0},
		{[]string{"audit", "--resource", "nonsense"}, 1},
		{[]string{"drift", "--format", "markdown"}, 0},
		{[]string{"migrate", "--database-url", dsn}, 0},
		{[]string{"audit", "--since", "1d"}, 0},
		{[]string{"audit", "--since", "2w"}, 0},
		{[]string{"audit", "--since", "1w3d12h"}, 0},
		{[]string{"audit", "--since", "3x"}, 1},
		{[]string{"drift", "--detailed-exitcode"}, 2},
		{[]string{"drift"}, 0},
		{[]string{"version"}, 0},
		{[]string{"--version"}, 0},
		{[]string{"drift", "--database-url", "mysql://db.example/syncd"}, 1},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if got := run(context.Background(), tt.args); got != tt.want {
				t.Errorf("exit code %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseSince(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30m", 30 * time.Minute, true},
		{"24h", 24 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"1w3d", 10 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"", 0, false},
		{"d", 0, false},
		{"1x", 0, false},
		{"-1d", 0, false},
		{"0d", 0, false},
		{"1d1w", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSince(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestDriftCommandShowsStuck: a resource whose last change event says
// stuck is listed by syncd drift in every format, until a later change
// event or an unstuck record.
func TestDriftCommandShowsStuck(t *testing.T) {
	dsn := pgtest.Database(t)
	ctx := context.Background()
	s, err := audit.Open(ctx, dsn, audit.Options{SpoolDir: t.TempDir(), Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := syncd.Key{Kind: syncd.PatchworksConnector, Name: "shopify"}
	stuck := syncd.Event{RunID: "r", Type: syncd.EventChangeFailed, Kind: k.Kind, Name: k.Name, RemoteID: "17", Action: "update",
		Outcome: "stuck", Error: "stuck: 3 attempts in a row", Mode: syncd.ModeApply, OccurredAt: cliT0}
	if err := s.Record(ctx, stuck); err != nil {
		t.Fatal(err)
	}
	run := func(format string) string {
		var out bytes.Buffer
		cmd := driftCmd{databaseFlag: databaseFlag{DatabaseURL: dsn}, Format: format, out: &out}
		if err := cmd.Run(ctx, &Globals{LogLevel: "error"}); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for _, format := range []string{"text", "markdown", "json"} {
		if out := run(format); !strings.Contains(out, "shopify") || !strings.Contains(out, "stuck: 3 attempts") {
			t.Errorf("%s output lacks the stuck resource:\n%s", format, out)
		}
	}
	unstuck := syncd.Event{RunID: "r2", Type: syncd.EventChangePlanned, Kind: k.Kind, Name: k.Name, RemoteID: "17", Action: "update",
		Outcome: "unstuck", Mode: syncd.ModeApply, OccurredAt: cliT0.Add(time.Minute)}
	if err := s.Record(ctx, unstuck); err != nil {
		t.Fatal(err)
	}
	if out := run("text"); strings.Contains(out, "shopify") {
		t.Errorf("released resource still listed:\n%s", out)
	}
}
