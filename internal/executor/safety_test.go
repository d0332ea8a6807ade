package executor_test

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// assertNoSecretInDB dumps the whole database and greps it for the secrets.
func assertNoSecretInDB(t *testing.T, e *testenv.Env) {
	t.Helper()
	dump, err := exec.Command(pgtest.Bin("pg_dump"), "--data-only", e.DB).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, dump)
	}
	if len(dump) < 100 {
		t.Fatalf("dump suspiciously small: %q", dump)
	}
	for _, s := range []string{testenv.SecretA, testenv.SecretB} {
		if bytes.Contains(dump, []byte(s)) {
			t.Errorf("secret %q found in the database dump", s)
		}
	}
}

func applied(t *testing.T, e *testenv.Env) {
	t.Helper()
	res, err := e.Reconcile(t, context.Background(), syncd.ModeApply, false)
	if err != nil || res.Report.Failed > 0 {
		t.Fatalf("apply: %v %+v", err, res.Report)
	}
}

func change(p *planner.Plan, name string) planner.Change {
	for _, c := range p.Changes {
		if c.Key.Name == name {
			return c
		}
	}
	return planner.Change{}
}

func TestPruneDeletesOnlyOwnedObjects(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	scenario(t, e)
	applied(t, e)
	// An object syncd does not own, with no manifest: never deleted.
	e.Write(t, "other.yaml", testenv.PatchworksDoc("unowned", "Unowned"))
	applied(t, e)
	if err := e.State.Unbind(context.Background(), syncd.Key{Kind: syncd.PatchworksConnector, Name: "unowned"}); err != nil {
		t.Fatal(err)
	}
	e.Remove(t, "other.yaml")
	e.Remove(t, "pw/y.yaml")
	res, err := e.Reconcile(t, context.Background(), syncd.ModeApply, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := change(res.Plan, "pw-y").Action; got != planner.ActionDelete {
		t.Fatalf("pw-y action = %s, want delete", got)
	}
	if _, p := countObjects(t, e.Emu); p != 2 { // pw-x and the unowned one
		t.Fatalf("patchworks objects = %d, want 2", p)
	}
}

func TestLoadFailurePlansNoDeleteOrReplace(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	scenario(t, e)
	applied(t, e)
	e.Remove(t, "pw/y.yaml")
	// Type change (replace) and a broken file at once.
	e.Write(t, "make/a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "basic"))
	e.Write(t, "broken.yaml", "apiVersion: syncd/v1\nkind: MakeConnection\nmetadata: {name: [}\n")
	res, err := e.Reconcile(t, context.Background(), syncd.ModeApply, true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Plan.LoadFailed {
		t.Fatal("plan does not know a manifest failed to load")
	}
	for _, c := range res.Plan.Changes {
		if (c.Action == planner.ActionDelete || c.Action == planner.ActionReplace) && c.Blocked == "" {
			t.Errorf("%s %s not blocked", c.Action, c.Key)
		}
	}
	if m, p := countObjects(t, e.Emu); m != 2 || p != 2 {
		t.Fatalf("objects changed: make %d, patchworks %d", m, p)
	}
	for _, c := range e.Emu.MakeConnections("app-one") {
		if c.Label == "Conn A" && c.Type != "apikey" {
			t.Errorf("conn-a replaced despite the load failure: type %s", c.Type)
		}
	}
}

func TestMassDeleteGuard(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	for i := range 7 {
		e.Write(t, "pw/"+string(rune('a'+i))+".yaml", testenv.PatchworksDoc("pw-"+string(rune('a'+i)), "Shop "+string(rune('A'+i))))
	}
	applied(t, e)
	for i := range 7 {
		e.Remove(t, "pw/"+string(rune('a'+i))+".yaml")
	}
	e.Write(t, "keep.yaml", testenv.MakeDoc("keep", "app-one", "Keep", "apikey"))
	res, err := e.Reconcile(t, context.Background(), syncd.ModeApply, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Summary.Delete != 7 {
		t.Fatalf("deletes planned = %d", res.Plan.Summary.Delete)
	}
	if _, p := countObjects(t, e.Emu); p != 7 {
		t.Fatalf("mass delete went through: %d connectors left", p)
	}
	// The refusal is in the audit, one blocked change_planned per delete.
	evs, err := e.Store.Events(context.Background(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	blocked := 0
	for _, ev := range evs {
		if ev.Event.RunID == res.RunID && ev.Event.Type == syncd.EventChangePlanned && ev.Event.Outcome == "blocked" && ev.Event.Action == "delete" {
			blocked++
		}
	}
	if blocked != 7 {
		t.Errorf("blocked deletes in the audit: %d, want 7", blocked)
	}
	res, err = e.Runner.Once(context.Background(), reconcile.Request{Trigger: "test", Mode: syncd.ModeApply, Set: e.Load(t), Prune: true, AllowMassDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, p := countObjects(t, e.Emu); p != 0 {
		t.Fatalf("allowed mass delete left %d connectors", p)
	}
}

func TestProtectBlocksReplace(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	doc := strings.Replace(testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"), "spec:\n", "policy:\n  protect: true\nspec:\n", 1)
	e.Write(t, "a.yaml", doc)
	applied(t, e)
	e.Write(t, "a.yaml", strings.Replace(doc, "type: apikey", "type: basic", 1))
	res, err := e.Reconcile(t, context.Background(), syncd.ModeApply, false)
	if err != nil {
		t.Fatal(err)
	}
	c := change(res.Plan, "conn-a")
	if c.Action != planner.ActionReplace || c.Blocked == "" {
		t.Fatalf("change = %+v, want a blocked replace", c)
	}
	if got := e.Emu.MakeConnections("app-one")[0].Type; got != "apikey" {
		t.Fatalf("protected connection replaced: type %s", got)
	}
}

func TestReplaceChangesTypeWithoutDuplicate(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	applied(t, e)
	old := e.Emu.MakeConnections("app-one")[0].Name
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "basic"))
	applied(t, e)
	conns := e.Emu.MakeConnections("app-one")
	if len(conns) != 1 || conns[0].Type != "basic" || conns[0].Name == old {
		t.Fatalf("after replace: %+v", conns)
	}
	if p := e.Plan(t, false); p.HasChanges() {
		t.Fatalf("plan after replace not empty: %+v", p.Summary)
	}
}

func TestSavedPlanRefusedWhenStale(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	scenario(t, e)
	applied(t, e)
	e.Write(t, "make/a.yaml", strings.Replace(testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"), "https://api.example.com/conn-a", "https://api.example.com/v2", 1))
	e.Write(t, "make/b.yaml", strings.Replace(testenv.MakeDoc("conn-b", "app-one", "Conn B", "oauth"), "https://api.example.com/conn-b", "https://api.example.com/v2", 1))
	saved := e.Plan(t, false)
	var buf bytes.Buffer
	if err := planner.WritePlanFile(&buf, saved, planner.PlanFileMeta{CreatedAt: time.Now(), ManifestsDigest: e.Load(t).Digest}); err != nil {
		t.Fatal(err)
	}
	read, _, err := planner.ReadPlanFile(&buf, registry.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	// Someone edits conn-b in the console after the plan was made.
	var name string
	for _, c := range e.Emu.MakeConnections("app-one") {
		if c.Label == "Conn B" {
			name = c.Name
		}
	}
	patch(t, e, "/_emulator/make/connections/"+name, `{"sections": {"parameters": "[]"}}`)
	res, err := e.Runner.Once(context.Background(), reconcile.Request{Trigger: "test", Mode: syncd.ModeApply, Set: e.Load(t), Saved: &reconcile.SavedPlan{Plan: read}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Refused) != 1 || !strings.Contains(res.Refused[0], "conn-b") {
		t.Fatalf("refused = %v, want conn-b only", res.Refused)
	}
	if res.Report.Applied != 1 {
		t.Fatalf("applied = %d, want 1 (conn-a)", res.Report.Applied)
	}
}

func patch(t *testing.T, e *testenv.Env, path, body string) {
	t.Helper()
	req, _ := newRequest("PATCH", e.HTTP.URL+path, body)
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PATCH %s: %s", path, resp.Status)
	}
}

func newRequest(method, url, body string) (*http.Request, error) {
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	if err == nil {
		r.Header.Set("Content-Type", "application/json")
	}
	return r, err
}

// TestRenamedManifestTakesOverItsObject: renaming metadata.name keeps the
// object (no twin, no prune of the original) and moves the binding.
func TestRenamedManifestTakesOverItsObject(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	applied(t, e)
	before := e.Emu.MakeConnections("app-one")
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-renamed", "app-one", "Conn A", "apikey"))
	res, err := e.Reconcile(t, context.Background(), syncd.ModeApply, true)
	if err != nil {
		t.Fatal(err)
	}
	if c := change(res.Plan, "conn-renamed"); c.Action != planner.ActionAdopt {
		t.Fatalf("renamed manifest planned as %s, want adopt", c.Action)
	}
	after := e.Emu.MakeConnections("app-one")
	if len(after) != 1 || after[0].Name != before[0].Name {
		t.Fatalf("objects before %v, after %v", before, after)
	}
	b, err := e.State.Bindings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, old := b[syncd.Key{Kind: syncd.MakeConnection, Name: "conn-a"}]; old || len(b) != 1 {
		t.Fatalf("inventory after rename: %v", b)
	}
	if p := e.Plan(t, true); p.HasChanges() {
		t.Fatalf("plan after rename not empty: %+v", p.Summary)
	}
}

// TestOutageStillRevertsDriftButNeverCreates: with PostgreSQL down, a
// daemon-like runner plans from the inventory it read last, reverts drift
// (its events spool and reach the database later, once), and creates
// nothing, since a create needs its intent journalled.
func TestOutageStillRevertsDriftButNeverCreates(t *testing.T) {
	cluster := pgtest.StartCluster(t)
	e := testenv.New(t, testenv.Options{DatabaseURL: pgtest.CreateDatabase(t, cluster.URL())})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	applied(t, e)
	name := e.Emu.MakeConnections("app-one")[0].Name
	patch(t, e, "/_emulator/make/connections/"+name, `{"label": "Conn A (edited by hand)"}`)

	cluster.Stop()
	e.Write(t, "b.yaml", testenv.MakeDoc("conn-b", "app-one", "Conn B", "apikey"))
	res, err := e.Reconcile(t, context.Background(), syncd.ModeApply, true)
	if err != nil {
		t.Fatalf("reconcile during the outage: %v", err)
	}
	if got := change(res.Plan, "conn-a").Action; got != planner.ActionUpdate {
		t.Fatalf("conn-a planned as %s during the outage, want update", got)
	}
	conns := e.Emu.MakeConnections("app-one")
	if len(conns) != 1 || conns[0].Label != "Conn A" {
		t.Fatalf("during the outage: %+v (want the drift reverted and no create)", conns)
	}
	if e.Store.SpoolDepth() == 0 {
		t.Fatal("nothing spooled during the outage")
	}

	cluster.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for e.Store.Flush(ctx) != nil {
		if ctx.Err() != nil {
			t.Fatal("spool never drained")
		}
		time.Sleep(50 * time.Millisecond)
	}
	db, err := pgx.Connect(ctx, e.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var planned, appliedN int
	if err := db.QueryRow(ctx, `select
		count(*) filter (where event_type = 'change_planned' and run_id = $1 and resource_name = 'conn-a'),
		count(*) filter (where event_type = 'change_applied' and run_id = $1 and resource_name = 'conn-a')
		from audit_events`, res.RunID).Scan(&planned, &appliedN); err != nil {
		t.Fatal(err)
	}
	if planned != 1 || appliedN != 1 {
		t.Fatalf("outage run's conn-a events in the database: planned %d, applied %d; want 1 and 1", planned, appliedN)
	}
	converge(t, e, 3) // and conn-b is created once the database is back
	if m, _ := countObjects(t, e.Emu); m != 2 {
		t.Fatalf("make objects = %d, want 2", m)
	}
}
