package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/testenv"
)

// TestRunOnceCarriesTheStuckCount: `syncd run --once`, as cron runs it,
// is a process per run, so the count towards stuck must outlive the
// process. The platform answers every write of the timezone as a success
// and keeps nothing: the first three runs write and fail, the third
// records the one stuck event, the fourth writes nothing. An edit of the
// manifest releases it (unstuck) and it is written again.
func TestRunOnceCarriesTheStuckCount(t *testing.T) {
	ctx := context.Background()
	e := testenv.New(t, testenv.Options{})
	doc := testenv.PatchworksDoc("pw-x", "Shop X")
	e.Write(t, "x.yaml", doc)
	db, err := pgx.Connect(ctx, e.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	query := func(sql string) int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	once := func(what string, want int) result {
		t.Helper()
		r := syncdCmd(t, e, nil, "run", "--once", "--mode", "apply", "--listen", "")
		if r.code != want {
			t.Fatalf("%s: exit %d, want %d\n%s%s", what, r.code, want, r.stdout, r.stderr)
		}
		return r
	}
	once("create", 0)
	conns := e.Emu.Connectors()
	if len(conns) != 1 {
		t.Fatalf("%d connectors, want 1", len(conns))
	}
	// Someone sets the timezone by hand; the platform then ignores every
	// write of it.
	if err := e.Emu.EditConnector(conns[0].ID, map[string]any{"timezone": "UTC"}); err != nil {
		t.Fatal(err)
	}
	e.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.IgnoreFields = []string{"patchworks/timezone"} })
	puts := func() int { return e.Emu.Counts().Patchworks.ByRoute["PUT /api/v1/connectors/{id}"] }
	stuckEvents := `select count(*) from audit_events where event_type = 'change_failed' and outcome = 'stuck' and resource_name = 'pw-x'`
	before := puts()

	for i := 1; i <= 3; i++ {
		r := once("not effective", 1)
		if !strings.Contains(r.stdout, "did not keep /timezone") {
			t.Errorf("run %d does not say the write was not kept:\n%s", i, r.stdout)
		}
		if got, want := query(stuckEvents), map[bool]int{true: 1}[i == 3]; got != want {
			t.Errorf("after run %d: %d stuck events, want %d", i, got, want)
		}
	}
	if n := puts() - before; n != 3 {
		t.Fatalf("%d writes in three runs, want 3", n)
	}
	r := once("held back", 0)
	if n := puts() - before; n != 3 {
		t.Errorf("the fourth run wrote: %d writes, want 3\n%s%s", n, r.stdout, r.stderr)
	}
	if n := query(stuckEvents); n != 1 {
		t.Errorf("%d stuck events after the fourth run, want 1", n)
	}
	if n := query(`select count(*) from audit_events where event_type = 'change_failed' and outcome = 'failed' and resource_name = 'pw-x'`); n != 3 {
		t.Errorf("%d failed events, want 3", n)
	}
	d := syncdCmd(t, e, nil, "drift", "--format", "json")
	if !strings.Contains(d.stdout, `"stuck": [`) || !strings.Contains(d.stdout, "pw-x") {
		t.Errorf("syncd drift does not list pw-x as stuck:\n%s", d.stdout)
	}
	// The count holds no secret, in any form syncd stores.
	var row string
	if err := db.QueryRow(ctx, `select row_to_json(c)::text from change_attempts c where name = 'pw-x'`).Scan(&row); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{testenv.SecretA, testenv.SecretB} {
		if strings.Contains(row, s) {
			t.Errorf("change_attempts holds a secret: %s", row)
		}
	}

	// The manifest changes: released, recorded as unstuck, written again.
	e.Write(t, "x.yaml", strings.Replace(doc, "timezone: Europe/London", "timezone: Europe/Paris", 1))
	once("released", 1)
	if n := puts() - before; n != 4 {
		t.Errorf("%d writes after the manifest edit, want 4", n)
	}
	if n := query(`select count(*) from audit_events where event_type = 'change_planned' and outcome = 'unstuck' and resource_name = 'pw-x'`); n != 1 {
		t.Errorf("%d unstuck events, want 1", n)
	}
	if n := query(`select count(*) from change_attempts where name = 'pw-x' and attempts = 1 and stuck_since is null`); n != 1 {
		t.Errorf("the released change does not start a new count")
	}
}
