package daemon_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// An edit of a $file include re-plans the manifest that includes it (the
// daemon reads again only the changed files and their includers), and only
// that connection's objects are read.
func TestWatchIncludeEditReplansItsManifest(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	gamma := strings.Replace(testenv.MakeDoc("gamma", "app-one", "Gamma", "apikey"),
		"    api:\n      url: https://api.example.com/gamma\n      headers:\n        authorization: \"Bearer {{connection.apiKey}}\"\n",
		"    api: {$file: gamma-api.jsonc}\n", 1)
	if !strings.Contains(gamma, "$file") {
		t.Fatalf("the include did not replace the api section:\n%s", gamma)
	}
	env.Write(t, "make/gamma.yaml", gamma)
	env.Write(t, "make/gamma-api.jsonc", `{"url": "https://api.example.com/gamma", "headers": {"authorization": "Bearer {{connection.apiKey}}"}}`)
	env.Write(t, "make/beta.yaml", testenv.MakeDoc("beta", "app-two", "Beta", "apikey"))
	env.Write(t, "patchworks/shop.yaml", testenv.PatchworksDoc("shop", "Shop"))
	applyAll(t, env)
	db := pool(t, env)

	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeReport})
	d.waitReady(t)
	env.Emu.ResetCounts()
	env.Write(t, "make/gamma-api.jsonc", `{"url": "https://api.example.com/gamma/v2", "headers": {"authorization": "Bearer {{connection.apiKey}}"}}`)
	where := `e.event_type = 'change_planned' and r.trigger = 'watch' and e.resource_kind = $1 and e.resource_name = $2`
	waitFor(t, "the include edit's change_planned row", func() bool {
		return len(events(t, db, where, string(syncd.MakeConnection), "gamma")) > 0
	})
	waitFor(t, "the watch run to finish", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'watch' and finished_at is null`) == 0
	})
	if n := count(t, db, `select count(*) from audit_events e join runs r on r.id = e.run_id
		where r.trigger = 'watch' and e.event_type = 'change_planned' and e.resource_name <> 'gamma'`); n != 0 {
		t.Errorf("%d change_planned rows for resources whose files did not change", n)
	}
	c := env.Emu.Counts()
	if c.Patchworks.Total != 0 {
		t.Errorf("an include of a Make manifest made %d Patchworks requests", c.Patchworks.Total)
	}
	want := map[string]int{
		"GET /sdk/apps/{app}/connections":            1,
		"GET /sdk/apps/connections/{name}/{section}": 2,
		"GET /sdk/apps/connections/{name}/common":    1,
	}
	if diff := cmp.Diff(want, reads(c.Make)); diff != "" {
		t.Errorf("Make reads (-want +got):\n%s", diff)
	}
	noSecrets(t, "daemon log", d.logs.String())
}
