package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/testenv"
)

// noDatabase runs a command as pull-request CI does: no database at all.
var noDatabase = map[string]string{"SYNCD_DATABASE_URL": "", "DATABASE_URL": ""}

// TestPullRequestPlanWithoutDatabase: after an apply, the plan CI makes
// without a database agrees with the one made with it (no changes, exit 0),
// says once that bindings were not read, and still shows a real change.
func TestPullRequestPlanWithoutDatabase(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "b.yaml", testenv.MakeDoc("conn-b", "app-one", "Conn B", "basic"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	e.Write(t, "y.yaml", testenv.PatchworksDoc("pw-y", "Shop Y"))
	if r := syncdCmd(t, e, nil, "apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := syncdCmd(t, e, nil, "plan", "--detailed-exitcode"); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("plan with the database: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	for _, format := range []string{"text", "markdown", "json"} {
		r := syncdCmd(t, e, noDatabase, "plan", "--detailed-exitcode", "--format", format)
		if r.code != 0 {
			t.Fatalf("%s plan without a database: exit %d, want 0\n%s%s", format, r.code, r.stdout, r.stderr)
		}
		switch format {
		case "json":
			var js struct {
				Summary     map[string]int `json:"summary"`
				Changes     []any          `json:"changes"`
				NoInventory bool           `json:"no_inventory"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
				t.Fatal(err)
			}
			if len(js.Changes) != 0 || js.Summary["adopt"] != 0 || js.Summary["noop"] != 4 || !js.NoInventory {
				t.Errorf("json plan without a database: %s", r.stdout)
			}
		default:
			if n := strings.Count(r.stdout, "planned without a database"); n != 1 {
				t.Errorf("%s plan: the no-database note appears %d times\n%s", format, n, r.stdout)
			}
			if !strings.Contains(r.stdout, "No changes.") || strings.Contains(r.stdout, "<details>") || strings.Contains(r.stdout, "<=") {
				t.Errorf("%s plan lists in-sync objects:\n%s", format, r.stdout)
			}
		}
		if strings.Contains(r.stderr, "WARN") {
			t.Errorf("the note is also logged:\n%s", r.stderr)
		}
	}

	// A hand edit is still a change, counted for --detailed-exitcode.
	conns := e.Emu.MakeConnections("app-one")
	if len(conns) != 2 {
		t.Fatalf("want 2 connections, got %d", len(conns))
	}
	edit := emulator.MakeEdit{Sections: map[string]string{"api": `{"url": "https://elsewhere.example.com"}`}}
	if err := e.Emu.EditMakeConnection(connNamed(t, conns, "Conn A"), edit); err != nil {
		t.Fatal(err)
	}
	r := syncdCmd(t, e, noDatabase, "plan", "--detailed-exitcode", "--format", "markdown", "--comment-id", "infra")
	if r.code != 2 {
		t.Fatalf("plan after a hand edit: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"<!-- syncd:plan:infra -->\n", "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 to adopt.", "`/sections/api/url`"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("want %q in\n%s", want, r.stdout)
		}
	}
}

func connNamed(t *testing.T, conns []emulator.MakeConnection, label string) string {
	t.Helper()
	for _, c := range conns {
		if c.Label == label {
			return c.Name
		}
	}
	t.Fatalf("no connection labelled %q", label)
	return ""
}

// TestMarkdownPlanShowsLoadErrors: the comment names each failure with its
// position, not only "a manifest failed to load".
func TestMarkdownPlanShowsLoadErrors(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "bad.yaml", "apiVersion: syncd/v1\nkind: MakeConnection\nmetadata:\n  name: x\nspec:\n  app: a\n  type: oauth2\n  label: L\n")
	// A secret in a field that fails validation: the comment (a new output
	// path) names the problem, never the value. syncdCmd checks both streams.
	leaky := strings.Replace(testenv.PatchworksDoc("pw-leak", "Leak"), "rate_limit_unit: minute", "rate_limit_unit: ${env:SECRET_A}", 1)
	leaky = strings.Replace(leaky, "rate_limit_duration: 60", "rate_limit_duration: ${env:SECRET_B}", 1)
	e.Write(t, "leak.yaml", leaky)
	r := syncdCmd(t, e, noDatabase, "plan", "--format", "markdown")
	if !strings.Contains(r.stdout, "leak.yaml:") {
		t.Errorf("the comment does not name leak.yaml:\n%s", r.stdout)
	}
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := filepath.Join(e.Dir, "bad.yaml") + ":7:"
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "oauth2") {
		t.Errorf("the comment does not name %s…:\n%s", want, r.stdout)
	}
	if !strings.HasPrefix(r.stdout, "<!-- syncd:plan -->\n") {
		t.Errorf("no marker line:\n%s", r.stdout)
	}
}

// selectOnlyRole creates a role exactly as the README tells CI to (the
// three SQL lines) and returns a database URL that logs in as it.
func selectOnlyRole(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	role, password := "syncd_ci_"+hex.EncodeToString(b[:]), "ci-"+hex.EncodeToString(b[:])
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dbname := strings.TrimPrefix(u.Path, "/")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		`CREATE ROLE ` + role + ` LOGIN PASSWORD '` + password + `'`,
		`GRANT CONNECT ON DATABASE ` + pgx.Identifier{dbname}.Sanitize() + ` TO ` + role,
		`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ` + role,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("drop role: %v", err)
			return
		}
		defer c.Close(context.Background())
		for _, sql := range []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := c.Exec(context.Background(), sql); err != nil {
				t.Errorf("%s: %v", sql, err)
			}
		}
	})
	u.User = url.UserPassword(role, password)
	return u.String()
}

// TestReadOnlyCommandsWithSelectOnlyRole: plan, drift, audit and audit
// verify need nothing but SELECT, on a database where nothing was ever
// applied (no HMAC key yet) and on one with history.
func TestReadOnlyCommandsWithSelectOnlyRole(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	// testenv made the key; a database where nobody applied has none.
	admin, err := pgx.Connect(context.Background(), e.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(context.Background(), `DELETE FROM syncd_settings`); err != nil {
		t.Fatal(err)
	}
	ci := map[string]string{"SYNCD_DATABASE_URL": selectOnlyRole(t, e.DB)}

	commands := [][]string{{"plan", "--detailed-exitcode"}, {"drift"}, {"audit"}, {"audit", "verify"}}
	wantCode := []int{2, 0, 0, 0}
	for i, args := range commands {
		if r := syncdCmd(t, e, ci, args...); r.code != wantCode[i] {
			t.Errorf("%v with a SELECT-only role on a fresh database: exit %d, want %d\n%s%s", args, r.code, wantCode[i], r.stdout, r.stderr)
		}
	}
	var keys int
	if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM syncd_settings`).Scan(&keys); err != nil || keys != 0 {
		t.Errorf("a read-only command created the HMAC key (%d rows, %v)", keys, err)
	}

	if r := syncdCmd(t, e, nil, "apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantCode[0] = 0
	for i, args := range commands {
		r := syncdCmd(t, e, ci, args...)
		if r.code != wantCode[i] {
			t.Errorf("%v with a SELECT-only role after apply: exit %d, want %d\n%s%s", args, r.code, wantCode[i], r.stdout, r.stderr)
		}
		if args[0] == "audit" && len(args) == 1 && !strings.Contains(r.stdout, "change_applied") {
			t.Errorf("audit shows no applied change:\n%s", r.stdout)
		}
	}
}

// TestReadOnlyCommandsNeverMigrate: a database behind on migrations is an
// error naming `syncd migrate`, and stays as it was.
func TestReadOnlyCommandsNeverMigrate(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	fresh := pgtest.Database(t)
	behind := pgtest.Database(t)
	if r := syncdCmd(t, e, map[string]string{"SYNCD_DATABASE_URL": behind}, "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d\n%s", r.code, r.stderr)
	}
	conn, err := pgx.Connect(context.Background(), behind)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE syncd_schema_version SET version = 1`); err != nil {
		t.Fatal(err)
	}
	for name, dsn := range map[string]string{"empty": fresh, "behind": behind} {
		for _, args := range [][]string{{"plan"}, {"drift"}, {"audit"}, {"audit", "verify"}} {
			r := syncdCmd(t, e, map[string]string{"SYNCD_DATABASE_URL": dsn}, args...)
			if r.code != 1 || !strings.Contains(r.stderr, "syncd migrate") {
				t.Errorf("%s database, %v: exit %d, want 1 naming syncd migrate\n%s", name, args, r.code, r.stderr)
			}
		}
	}
	fc, err := pgx.Connect(context.Background(), fresh)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close(context.Background())
	var tables int
	if err := fc.QueryRow(context.Background(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("a read-only command created %d tables (%v)", tables, err)
	}
	var version int
	if err := conn.QueryRow(context.Background(), `SELECT version FROM syncd_schema_version`).Scan(&version); err != nil || version != 1 {
		t.Errorf("a read-only command migrated: version %d (%v)", version, err)
	}
}

// TestAdoptWritesUnreadableSecret: a connector imported with a write-only
// secret the API reads back as null is planned as "will be set", applied
// for real (the platform then holds the value), and only then in sync.
func TestAdoptWritesUnreadableSecret(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	seed, err := emulator.ParseSeed([]byte(`{"patchworks": {"connectors": [
	  {"name": "Shop X", "authentication_implementation_id": "42", "timezone": "Europe/London",
	   "date_format": "d/m/Y H:i", "rate_limit_unit": "minute", "rate_limit_duration": 60,
	   "variables": [
	     {"key": "shop_domain", "value": "pw-x.example.com", "label": "Shop domain", "secret": false},
	     {"key": "api_token", "value": null, "label": "API token", "secret": true}
	   ]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Emu.Seed(seed); err != nil {
		t.Fatal(err)
	}
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))

	r := syncdCmd(t, e, nil, "plan", "--detailed-exitcode")
	if r.code != 2 || !strings.Contains(r.stdout, "/variables/api_token/value: (sensitive) will be set (cannot be read back)") ||
		!strings.Contains(r.stdout, "1 to update") || !strings.Contains(r.stdout, "1 to adopt") {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := syncdCmd(t, e, nil, "apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	conns := e.Emu.Connectors()
	if len(conns) != 1 {
		t.Fatalf("want 1 connector, got %d", len(conns))
	}
	var got any
	for _, v := range conns[0].Variables {
		if v.Key == "api_token" {
			got = v.Value
		}
	}
	if got != testenv.SecretB {
		t.Fatalf("after apply the platform holds %v for the secret, not the manifest's value", redactedFor(got))
	}
	if r := syncdCmd(t, e, nil, "plan", "--detailed-exitcode"); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("plan after apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The audit rows carry the unreadable mark, still hash-chained.
	r = syncdCmd(t, e, nil, "audit", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"unreadable": true`) {
		t.Errorf("audit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := syncdCmd(t, e, nil, "audit", "verify"); r.code != 0 {
		t.Errorf("audit verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func redactedFor(v any) string {
	if v == nil {
		return "null"
	}
	return "another value"
}

// TestPlanHelpNamesCommentID keeps the flag discoverable.
func TestPlanHelpNamesCommentID(t *testing.T) {
	r := syncdCmd(t, nil, nil, "plan", "--help")
	if !strings.Contains(r.stdout, "--comment-id") {
		t.Errorf("plan --help:\n%s", r.stdout)
	}
}

// TestSavedPlanOnAMigratedDatabase: `syncd migrate` creates the HMAC key,
// so a plan saved by the read-only `plan` hashes as the apply that follows.
func TestSavedPlanOnAMigratedDatabase(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	db := map[string]string{"SYNCD_DATABASE_URL": pgtest.Database(t)}
	if r := syncdCmd(t, e, db, "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d\n%s", r.code, r.stderr)
	}
	planFile := filepath.Join(t.TempDir(), "plan.json")
	if r := syncdCmd(t, e, db, "plan", "--out", planFile); r.code != 0 || strings.Contains(r.stderr, "no HMAC key") {
		t.Fatalf("plan --out: exit %d\n%s", r.code, r.stderr)
	}
	if r := syncdCmd(t, e, db, "apply", planFile); r.code != 0 || e.Emu.MakeConnectionCount() != 1 {
		t.Fatalf("apply the saved plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestIgnoredSecretIsNotRecordedAsWritten: a write-only secret under
// policy.ignore is not written on adoption, so no hash of it is recorded;
// once the ignore is lifted the plan sets it instead of calling it in sync.
func TestIgnoredSecretIsNotRecordedAsWritten(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	seed, err := emulator.ParseSeed([]byte(`{"patchworks": {"connectors": [
	  {"name": "Shop X", "authentication_implementation_id": "42", "timezone": "Europe/London",
	   "date_format": "d/m/Y H:i", "rate_limit_unit": "minute", "rate_limit_duration": 60,
	   "variables": [
	     {"key": "shop_domain", "value": "pw-x.example.com", "label": "Shop domain", "secret": false},
	     {"key": "api_token", "value": null, "label": "API token", "secret": true}
	   ]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Emu.Seed(seed); err != nil {
		t.Fatal(err)
	}
	doc := testenv.PatchworksDoc("pw-x", "Shop X")
	e.Write(t, "x.yaml", strings.Replace(doc, "spec:\n", "policy:\n  ignore: [\"/variables/api_token/value\"]\nspec:\n", 1))
	if r := syncdCmd(t, e, nil, "apply", "--auto-approve"); r.code != 0 || !strings.Contains(r.stdout, "0 to update") {
		t.Fatalf("apply with the secret ignored: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.Write(t, "x.yaml", doc)
	r := syncdCmd(t, e, nil, "plan", "--detailed-exitcode")
	if r.code != 2 || !strings.Contains(r.stdout, "(sensitive) will be set (cannot be read back)") {
		t.Fatalf("plan after lifting the ignore: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
