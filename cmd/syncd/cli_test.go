package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/pglock"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/testenv"
)

var syncdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "syncd-cli")
	if err != nil {
		panic(err)
	}
	syncdBin = filepath.Join(dir, "syncd")
	if out, err := exec.Command("go", "build", "-o", syncdBin, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	defer os.RemoveAll(dir)
	pgtest.Main(m)
}

type result struct {
	code           int
	stdout, stderr string
}

// syncdCmd runs the binary with the environment of e plus extra.
func syncdCmd(t *testing.T, e *testenv.Env, extra map[string]string, args ...string) result {
	t.Helper()
	cmd := exec.Command(syncdBin, args...)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_COLOR=1"}
	if e != nil {
		env = append(env,
			"SYNCD_MAKE_URL="+e.HTTP.URL+"/api/v2", "SYNCD_MAKE_TOKEN="+emulator.DefaultMakeToken,
			"SYNCD_PATCHWORKS_URL="+e.HTTP.URL, "SYNCD_PATCHWORKS_TOKEN="+emulator.DefaultPatchworksToken,
			"SYNCD_DATABASE_URL="+e.DB, "SYNCD_MANIFESTS="+e.Dir, "SYNCD_SPOOL_DIR="+t.TempDir(),
			"SYNCD_MAKE_RPM=600000", "SYNCD_PATCHWORKS_RPM=600000",
			"SECRET_A="+testenv.SecretA, "SECRET_B="+testenv.SecretB)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r := result{code, out.String(), errb.String()}
	for _, s := range []string{testenv.SecretA, testenv.SecretB} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("syncd %s printed a secret:\n%s\n%s", strings.Join(args, " "), r.stdout, r.stderr)
		}
	}
	return r
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range []string{"validate", "plan", "apply", "run", "drift", "audit", "import", "migrate", "schema", "emulator"} {
		r := syncdCmd(t, nil, nil, c, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: syncd "+c) {
			t.Errorf("%s --help: exit %d\n%s%s", c, r.code, r.stdout, r.stderr)
		}
	}
}

func TestValidateExamplesAndBrokenManifest(t *testing.T) {
	env := map[string]string{"ACME_CLIENT_SECRET": "x", "SHOPIFY_API_TOKEN": "y", "ACME_API_KEY": "z"}
	r := syncdCmd(t, nil, env, "validate", "--manifests", "../../manifests")
	if r.code != 0 {
		t.Fatalf("examples invalid: exit %d\n%s", r.code, r.stderr)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("apiVersion: syncd/v1\nkind: MakeConnection\nmetadata:\n  name: x\nspec:\n  app: a\n  type: oauth2\n  label: L\n"), 0o644)
	r = syncdCmd(t, nil, nil, "validate", "--manifests", dir)
	if r.code != 1 || !regexp.MustCompile(`bad\.yaml:7:\d+: .*oauth2`).MatchString(r.stderr) {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestPlanApplyCycle(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))

	r := syncdCmd(t, e, nil, "plan", "--detailed-exitcode")
	if r.code != 2 || !strings.Contains(r.stdout, "2 to create") {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A plan only reads.
	for platform, pc := range map[string]emulator.PlatformCounts{"make": e.Emu.Counts().Make, "patchworks": e.Emu.Counts().Patchworks} {
		for method, n := range pc.ByMethod {
			if method != "GET" && n > 0 {
				t.Errorf("plan sent %d %s requests to %s", n, method, platform)
			}
		}
		if pc.Total == 0 {
			t.Errorf("plan sent no request to %s", platform)
		}
	}
	r = syncdCmd(t, e, nil, "plan", "--format", "json")
	var js struct {
		FormatVersion int            `json:"format_version"`
		Summary       map[string]int `json:"summary"`
		Changes       []map[string]any
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || js.FormatVersion != 1 || js.Summary["create"] != 2 || len(js.Changes) != 2 {
		t.Fatalf("json plan: %v\n%s", err, r.stdout)
	}
	r = syncdCmd(t, e, nil, "plan", "--format", "markdown")
	if r.code != 0 || !strings.Contains(r.stdout, "<details>") {
		t.Fatalf("markdown plan:\n%s", r.stdout)
	}

	// No terminal and no --auto-approve: nothing is written.
	r = syncdCmd(t, e, nil, "apply")
	if r.code != 1 || e.Emu.MakeConnectionCount()+e.Emu.ConnectorCount() != 0 {
		t.Fatalf("apply without approval: exit %d, objects %d\n%s", r.code, e.Emu.MakeConnectionCount()+e.Emu.ConnectorCount(), r.stderr)
	}
	r = syncdCmd(t, e, nil, "apply", "--auto-approve")
	if r.code != 0 || !strings.Contains(r.stdout, "2 applied") {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = syncdCmd(t, e, nil, "plan", "--detailed-exitcode")
	if r.code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = syncdCmd(t, e, nil, "audit", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stdout, "change_applied") {
		t.Fatalf("audit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = syncdCmd(t, e, nil, "audit", "verify")
	if r.code != 0 {
		t.Fatalf("audit verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestSavedPlanIsAppliedExactly(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	planFile := filepath.Join(t.TempDir(), "plan.json")
	if r := syncdCmd(t, e, nil, "plan", "--out", planFile); r.code != 0 {
		t.Fatalf("plan --out: exit %d\n%s", r.code, r.stderr)
	}
	raw, _ := os.ReadFile(planFile)
	for _, s := range []string{testenv.SecretA, testenv.SecretB} {
		if bytes.Contains(raw, []byte(s)) {
			t.Fatal("plan file holds a secret")
		}
	}
	// A manifest added after the plan is not applied by it.
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	r := syncdCmd(t, e, nil, "apply", planFile)
	if r.code != 0 {
		t.Fatalf("apply plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if e.Emu.MakeConnectionCount() != 1 || e.Emu.ConnectorCount() != 0 {
		t.Fatalf("objects: make %d, patchworks %d", e.Emu.MakeConnectionCount(), e.Emu.ConnectorCount())
	}
}

// TestImportThenPlanIsEmpty is the round trip that proves normalisation:
// whatever the emulator holds, import writes manifests that plan to no
// change.
func TestImportThenPlanIsEmpty(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	seed, err := emulator.ParseSeed([]byte(importSeed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Emu.Seed(seed); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"import", "--kind", "MakeConnection", "--app", "crm", "--out", e.Dir, "--secrets-as-env"},
		{"import", "--kind", "PatchworksConnector", "--out", e.Dir, "--secrets-as-env"},
	} {
		if r := syncdCmd(t, e, nil, args...); r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	// Set every placeholder the import wrote.
	env := map[string]string{}
	filepath.WalkDir(e.Dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, s := range []string{"sekret-common-value", "pw-secret-value"} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret value", p)
			}
		}
		for _, m := range regexp.MustCompile(`\$\{env:([A-Z0-9_]+)\}`).FindAllStringSubmatch(string(b), -1) {
			env[m[1]] = "sekret-common-value"
		}
		return nil
	})
	if len(env) == 0 {
		t.Fatal("import wrote no secret placeholder")
	}
	r := syncdCmd(t, e, env, "plan", "--format", "json")
	var js struct {
		Summary map[string]int `json:"summary"`
		Changes []struct {
			Name   string
			Action string
			Fields []struct {
				Path       string
				Unreadable bool
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("%v\n%s%s", err, r.stdout, r.stderr)
	}
	for _, c := range js.Changes {
		if c.Action != "adopt" {
			t.Errorf("%s: %s after import", c.Name, c.Action)
		}
		// Only a write-only secret, which the API never reads back, is
		// written on adoption: syncd cannot know what it holds.
		for _, f := range c.Fields {
			if !f.Unreadable {
				t.Errorf("%s: field change %s after import", c.Name, f.Path)
			}
		}
	}
	if js.Summary["adopt"] != 5 {
		t.Errorf("summary %v, want 5 adopts", js.Summary)
	}
}

const importSeed = `{
 "make": {"apps": {"crm": {"connections": [
   {"label": "OAuth main", "type": "oauth", "connectedSystemName": "crm-prod",
    "sections": {
      "api": "{\n  // the token endpoint\n  \"token\": {\"url\": \"https://x.example/token\", \"method\": \"POST\",},\n}",
      "parameters": [{"name": "clientId", "type": "text"}],
      "scopes": {"read": "Read"}, "scope": ["read"],
      "install": {"url": "https://x.example/install"}, "installSpec": [{"name": "region", "type": "text"}]
    },
    "common": {"clientId": "abc", "clientSecret": "sekret-common-value", "retries": 3}},
   {"label": "API key", "type": "apikey"},
   {"label": "Basic with/slash ~tilde", "type": "basic", "common": {"nested": {"a": [1, 2.5, null, true]}}}
 ]}}},
 "patchworks": {"connectors": [
   {"name": "Shopify (prod)", "authentication_implementation_id": 42, "timezone": "Europe/London",
    "date_format": "d/m/Y H:i", "rate_limit_unit": "minute", "rate_limit_duration": 60, "connection_pool_id": 7,
    "variables": [
      {"key": "shop", "value": "acme.myshopify.com", "label": "Shop", "secret": false, "locked": true,
       "pivot": {"alias": "shop", "configurable": true, "required": true, "advanced": false}},
      {"key": "token", "value": "pw-secret-value", "label": "Token", "secret": true}
    ]},
   {"name": "Empty one", "authentication_implementation_id": "9", "timezone": "UTC",
    "date_format": "Y-m-d", "rate_limit_unit": "second", "rate_limit_duration": 1}
 ]}
}`

// TestApplyWaitsForTheApplyLock: a daemon in apply mode (or another apply)
// holds the lock; `syncd apply` refuses rather than write beside it.
func TestApplyRefusedWhileAnotherApplies(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	release, err := pglock.AcquireApplyLock(context.Background(), e.DB, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := syncdCmd(t, e, nil, "apply", "--auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, "another syncd is applying") || e.Emu.MakeConnectionCount() != 0 {
		t.Fatalf("apply beside a lock holder: exit %d, objects %d\n%s", r.code, e.Emu.MakeConnectionCount(), r.stderr)
	}
	release()
	if r := syncdCmd(t, e, nil, "apply", "--auto-approve"); r.code != 0 || e.Emu.MakeConnectionCount() != 1 {
		t.Fatalf("apply after release: exit %d\n%s", r.code, r.stderr)
	}
}

// TestRunSignals: the binary reloads on SIGHUP and exits 0 on SIGTERM.
func TestRunSignals(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	cmd := exec.Command(syncdBin, "run", "--mode", "report", "--schedule", "", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(),
		"SYNCD_MAKE_URL="+e.HTTP.URL+"/api/v2", "SYNCD_MAKE_TOKEN="+emulator.DefaultMakeToken,
		"SYNCD_PATCHWORKS_URL="+e.HTTP.URL, "SYNCD_PATCHWORKS_TOKEN="+emulator.DefaultPatchworksToken,
		"SYNCD_DATABASE_URL="+e.DB, "SYNCD_MANIFESTS="+e.Dir, "SYNCD_SPOOL_DIR="+t.TempDir(),
		"SECRET_A="+testenv.SecretA, "SYNCD_LOG_FORMAT=json")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	runs := func(trigger string) int {
		db, err := pgx.Connect(context.Background(), e.DB)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close(context.Background())
		var n int
		if err := db.QueryRow(context.Background(), `select count(*) from runs where trigger = $1 and finished_at is not null`, trigger).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("the startup run", func() bool { return runs("startup") == 1 })
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("a run after SIGHUP", func() bool { return runs("signal") == 1 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("syncd run after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("syncd run did not stop on SIGTERM")
	}
	if strings.Contains(logs.String(), testenv.SecretA) {
		t.Error("a log line holds the secret")
	}
	if !strings.Contains(logs.String(), `"run_id"`) {
		t.Errorf("json logs carry no run_id:\n%s", logs.String())
	}
}
