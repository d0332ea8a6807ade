package main

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/testenv"
)

// TestApplyWithoutTerminal: with standard input on /dev/null (a character
// device, not a terminal) apply does not prompt, says why it stops, exits
// 1, writes nothing, and records the run as cancelled.
func TestApplyWithoutTerminal(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	r := syncdCmd(t, e, nil, "apply") // exec gives the child /dev/null as stdin
	if r.code != 1 || strings.Contains(r.stdout, "Enter a value") ||
		!strings.Contains(r.stderr, "not a terminal") || !strings.Contains(r.stderr, "--auto-approve") {
		t.Fatalf("apply < /dev/null: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := e.Emu.MakeConnectionCount(); n != 0 {
		t.Fatalf("%d connections created", n)
	}
	db, err := pgx.Connect(context.Background(), e.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var outcome, finished string
	if err := db.QueryRow(context.Background(), `select outcome, (select outcome from audit_events where event_type = 'run_finished') from runs`).Scan(&outcome, &finished); err != nil {
		t.Fatal(err)
	}
	if outcome != "cancelled" || finished != "cancelled" {
		t.Errorf("declined apply recorded as %q (run) / %q (run_finished), want cancelled", outcome, finished)
	}
}

// TestHelpNamesTheTokens: the tokens are read from the environment only,
// so --help must name those variables, and a kind without a platform
// names what to set.
func TestHelpNamesTheTokens(t *testing.T) {
	for _, c := range []string{"plan", "apply", "run", "import"} {
		r := syncdCmd(t, nil, nil, c, "--help")
		for _, v := range []string{"SYNCD_MAKE_TOKEN", "SYNCD_PATCHWORKS_TOKEN"} {
			if !strings.Contains(r.stdout, v) {
				t.Errorf("%s --help does not name %s:\n%s", c, v, r.stdout)
			}
		}
	}
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	for _, tt := range []struct {
		unset map[string]string
		want  string
	}{
		{map[string]string{"SYNCD_MAKE_URL": ""}, "no platform configured for MakeConnection: set SYNCD_MAKE_URL (or SYNCD_MAKE_ZONE) and SYNCD_MAKE_TOKEN"},
		{map[string]string{"SYNCD_PATCHWORKS_URL": ""}, "no platform configured for PatchworksConnector: set SYNCD_PATCHWORKS_URL and SYNCD_PATCHWORKS_TOKEN"},
	} {
		r := syncdCmd(t, e, tt.unset, "plan")
		if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("plan with %v: exit %d\n%s", tt.unset, r.code, r.stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := syncdCmd(t, nil, nil, args...)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "syncd ") ||
			!strings.HasPrefix(lines[1], "commit ") || lines[2] != runtime.Version() {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestMalformedDatabaseURL: the error names the wrong part, never the
// password, in every command that takes a database.
func TestMalformedDatabaseURL(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	for _, tt := range []struct{ url, want string }{
		{"mysql://u:hunter2@db.example/syncd", `scheme is "mysql"`},
		{"postgres://u:hunter2@db.example:5x32/syncd", `port "5x32"`},
		{"db.example/syncd", "no scheme"},
	} {
		for _, args := range [][]string{{"plan"}, {"apply", "--auto-approve"}, {"run", "--once"}, {"drift"}, {"audit"}, {"migrate"}} {
			r := syncdCmd(t, e, map[string]string{"SYNCD_DATABASE_URL": tt.url}, args...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stderr, "hunter2") {
				t.Errorf("%v with %s: exit %d\n%s", args, tt.url, r.code, r.stderr)
			}
		}
	}
}
