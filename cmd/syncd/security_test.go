package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// A plan that could not plan a resource says "Error: …" and must not exit
// 0: CI would read it as "no changes".
func TestPlanExitsOneWhenAResourceCannotBePlanned(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	twin := map[string]any{"name": "Twin", "authentication_implementation_id": 42, "timezone": "UTC",
		"date_format": "d/m/Y H:i", "rate_limit_unit": "minute", "rate_limit_duration": 60}
	if _, err := e.Emu.Seed(emulator.Seed{Patchworks: emulator.SeedPatchworks{Connectors: []map[string]any{twin, twin}}}); err != nil {
		t.Fatal(err)
	}
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Twin"))
	for _, args := range [][]string{{"plan"}, {"plan", "--detailed-exitcode"}, {"plan", "--format", "json"}} {
		r := syncdCmd(t, e, nil, args...)
		if r.code != 1 {
			t.Errorf("syncd %s: exit %d, want 1\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		if args[len(args)-1] == "plan" && !strings.Contains(r.stdout, "could not be planned") {
			t.Errorf("plan text does not say the resource could not be planned:\n%s", r.stdout)
		}
	}
}

// echoProxy stands in front of the emulator and answers every write whose
// body carries one of secrets with a validation error that echoes the body
// back: raw, URL-encoded, and the client id and secret as the Basic
// credentials of an OAuth token request. Everything else is passed on.
func echoProxy(t *testing.T, upstream string, secrets []string) *httptest.Server {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		carries := false
		for _, s := range secrets {
			for _, enc := range transport.Encodings(s) {
				carries = carries || bytes.Contains(body, []byte(enc))
			}
		}
		if r.Method == http.MethodGet || !carries {
			rp.ServeHTTP(w, r)
			return
		}
		echo := string(body) + " | form: " + url.QueryEscape(string(body))
		var common map[string]any
		if json.Unmarshal(body, &common) == nil {
			id, _ := common["clientId"].(string)
			sec, _ := common["clientSecret"].(string)
			echo += " | Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+sec))
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.URL.Path, "/api/v1/") {
			w.WriteHeader(http.StatusUnprocessableEntity)
			json.NewEncoder(w).Encode(map[string]any{"message": "The given data was invalid.",
				"errors": map[string][]string{"variables": {"rejected " + echo}}})
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"message": "Validation failed", "detail": "rejected " + echo})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// pgBin finds the PostgreSQL client programs: $PGBIN or $SYNCD_PGBIN if
// set, else pg_config --bindir, else the newest /usr/lib/postgresql/*/bin.
func pgBin(t *testing.T) string {
	t.Helper()
	for _, env := range []string{"PGBIN", "SYNCD_PGBIN"} {
		if d := os.Getenv(env); d != "" {
			return d
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			if _, err := os.Stat(filepath.Join(d, "pg_dump")); err == nil {
				return d
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestV := "", -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err == nil && v > bestV {
			best, bestV = d, v
		}
	}
	if best == "" {
		t.Fatal("no PostgreSQL client programs: set PGBIN or install postgresql")
	}
	return best
}

// leaks names every secret found in text, in any of its encodings.
func leaks(text string, secrets []string) []string {
	var out []string
	lower := strings.ToLower(text)
	for _, s := range secrets {
		for _, enc := range transport.Encodings(s) {
			if strings.Contains(text, enc) || strings.Contains(lower, strings.ToLower(enc)) {
				out = append(out, fmt.Sprintf("%q as %q", s, enc))
			}
		}
	}
	return out
}

// A platform that echoes request bodies in its errors must not carry a
// secret — long, short or numeric, in any encoding — into syncd's output,
// its logs, the audit store or the spool.
func TestEchoedSecretsLeakNowhere(t *testing.T) {
	const (
		longSecret    = `SEC<ti>on&"9/é-long`
		shortSecret   = `Ж!`
		numericSecret = `987654321987`
	)
	secrets := []string{longSecret, shortSecret, numericSecret, "id-conn-a:" + longSecret}
	e := testenv.New(t, testenv.Options{})
	proxy := echoProxy(t, e.HTTP.URL, secrets)
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	e.Write(t, "y.yaml", strings.ReplaceAll(testenv.PatchworksDoc("pw-y", "Shop Y"), "SECRET_B", "SHORT_SECRET"))
	e.Write(t, "z.yaml", strings.ReplaceAll(testenv.PatchworksDoc("pw-z", "Shop Z"), "SECRET_B", "NUMERIC_SECRET"))
	spool := t.TempDir()
	env := map[string]string{
		"SECRET_A": longSecret, "SHORT_SECRET": shortSecret, "NUMERIC_SECRET": numericSecret,
		"SYNCD_MAKE_URL": proxy.URL + "/api/v2", "SYNCD_PATCHWORKS_URL": proxy.URL,
		"SYNCD_LOG_FORMAT": "json", "SYNCD_LOG_LEVEL": "debug", "SYNCD_SPOOL_DIR": spool,
	}
	r := syncdCmd(t, e, env, "apply", "--auto-approve")
	if r.code != 1 {
		t.Fatalf("apply against an echoing platform: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout+r.stderr, syncd.Redacted) || !strings.Contains(r.stdout+r.stderr, transport.Withheld) {
		t.Errorf("expected both a redacted and a withheld message:\n%s%s", r.stdout, r.stderr)
	}
	audit := syncdCmd(t, e, env, "audit", "--format", "json")
	var dump bytes.Buffer
	cmd := exec.Command(filepath.Join(pgBin(t), "pg_dump"), "--data-only", "-d", e.DB)
	cmd.Stdout, cmd.Stderr = &dump, &dump
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, dump.String())
	}
	if !strings.Contains(dump.String(), "change_failed") {
		t.Fatalf("pg_dump holds no change_failed row:\n%s", dump.String())
	}
	var spooled strings.Builder
	filepath.WalkDir(spool, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			spooled.Write(b)
		}
		return nil
	})
	for name, text := range map[string]string{
		"apply stdout": r.stdout, "apply stderr (logs)": r.stderr, "audit": audit.stdout + audit.stderr,
		"pg_dump": dump.String(), "spool": spooled.String(),
	} {
		if l := leaks(text, secrets); len(l) > 0 {
			t.Errorf("%s leaks %s", name, strings.Join(l, ", "))
		}
	}
}

// The audit chain keyed with SYNCD_AUDIT_KEY: every run leaves a signed
// checkpoint in the checkpoint directory and in its log line; cutting the
// tail of the chain together with its head, which the database alone
// cannot show, fails `syncd audit verify`; `syncd audit checkpoint`
// prints a head that verify accepts.
func TestAuditKeyAndCheckpoints(t *testing.T) {
	const auditKey = "audit-key-for-the-cli-test-0123"
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	cpDir := t.TempDir()
	env := map[string]string{"SYNCD_AUDIT_KEY": auditKey, "SYNCD_CHECKPOINT_DIR": cpDir, "SYNCD_LOG_FORMAT": "json"}
	r := syncdCmd(t, e, env, "apply", "--auto-approve")
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, `"audit_checkpoint":"syncd-audit-checkpoint/v1 `) {
		t.Fatalf("the run's log line has no checkpoint:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, auditKey) {
		t.Fatal("the audit key was printed")
	}
	files, _ := filepath.Glob(filepath.Join(cpDir, "*"))
	if len(files) != 1 {
		t.Fatalf("checkpoint directory holds %v", files)
	}
	cp := syncdCmd(t, e, env, "audit", "checkpoint")
	if cp.code != 0 || !strings.HasPrefix(cp.stdout, "syncd-audit-checkpoint/v1 id=") {
		t.Fatalf("audit checkpoint: exit %d\n%s%s", cp.code, cp.stdout, cp.stderr)
	}
	line := strings.TrimSpace(cp.stdout)
	if v := syncdCmd(t, e, env, "audit", "verify", "--checkpoint", line); v.code != 0 || !strings.Contains(v.stdout, "keyed from row 1") {
		t.Fatalf("verify: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
	empty := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(empty, []byte("no checkpoint here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v := syncdCmd(t, e, env, "audit", "verify", "--checkpoint", empty); v.code != 1 || !strings.Contains(v.stderr, "no checkpoint line") {
		t.Fatalf("verify with a file holding no checkpoint: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
	if v := syncdCmd(t, e, nil, "audit", "verify"); v.code != 1 || !strings.Contains(v.stderr, "SYNCD_AUDIT_KEY") {
		t.Fatalf("verify without the key: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
	// A superuser cuts the last two rows and rewrites the head to match.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`ALTER TABLE audit_events DISABLE TRIGGER USER`,
		`DELETE FROM audit_events WHERE id > (SELECT last_id - 2 FROM audit_chain)`,
		`UPDATE audit_chain SET last_id = (SELECT max(id) FROM audit_events), row_hash = (SELECT row_hash FROM audit_events ORDER BY id DESC LIMIT 1)`,
		`ALTER TABLE audit_events ENABLE TRIGGER USER`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	v := syncdCmd(t, e, env, "audit", "verify")
	if v.code != 1 || !strings.Contains(v.stdout, "truncated") {
		t.Fatalf("verify after truncation: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
	// The checkpoint printed earlier catches it too, without the directory.
	v = syncdCmd(t, e, map[string]string{"SYNCD_AUDIT_KEY": auditKey, "SYNCD_CHECKPOINT_DIR": t.TempDir()}, "audit", "verify", "--checkpoint", line)
	if v.code != 1 || !strings.Contains(v.stdout, "truncated") {
		t.Fatalf("verify with the printed checkpoint: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
}

// A natural key built from a secret reference (a connector named
// ${env:…}) is never stored or shown in clear: plan files and the intents
// table hold its keyed hash, and a create left ambiguous is still
// recovered by it, without a duplicate.
func TestSecretNaturalKeyIsHashed(t *testing.T) {
	const secretName = "Secret-Shop-Name-DDDD"
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "x.yaml", strings.Replace(testenv.PatchworksDoc("pw-secret", "x"), `name: "x"`, `name: ${env:SECRET_NAME}`, 1))
	env := map[string]string{"SECRET_NAME": secretName}
	planFile := filepath.Join(t.TempDir(), "plan.json")
	if r := syncdCmd(t, e, env, "plan", "--out", planFile); r.code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	saved, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(saved), `"natural_key": "hmac-sha256:`) {
		t.Errorf("plan file natural key is not hashed:\n%s", saved)
	}
	// The create is carried out but answered 502.
	e.Emu.SetKnobs(emulator.Knobs{FailAfterWriteRate: 1})
	r := syncdCmd(t, e, env, "apply", "--auto-approve")
	e.Emu.SetKnobs(emulator.Knobs{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var keys []string
	rows, err := conn.Query(ctx, `SELECT natural_key FROM intents`)
	if err != nil {
		t.Fatal(err)
	}
	keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(keys) == 0 {
		t.Fatalf("intents: %v %v", keys, err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "hmac-sha256:") {
			t.Errorf("intent natural key %q is not a keyed hash", k)
		}
	}
	if r := syncdCmd(t, e, env, "apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply after recovery: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := e.Emu.ConnectorCount(); n != 1 {
		t.Fatalf("%d connectors after an ambiguous create and a recovery, want 1", n)
	}
	for name, text := range map[string]string{"plan file": string(saved), "outputs": r.stdout + r.stderr} {
		if l := leaks(text, []string{secretName}); len(l) > 0 {
			t.Errorf("%s leaks %s", name, strings.Join(l, ", "))
		}
	}
	var dump bytes.Buffer
	cmd := exec.Command(filepath.Join(pgBin(t), "pg_dump"), "--data-only", "-d", e.DB)
	cmd.Stdout, cmd.Stderr = &dump, &dump
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, dump.String())
	}
	if l := leaks(dump.String(), []string{secretName}); len(l) > 0 {
		t.Errorf("pg_dump leaks %s", strings.Join(l, ", "))
	}
}

// A crash between a create and its binding leaves a pending intent whose
// natural key is hashed (it is a secret): recovery finds the object with
// the manifest's clear key and binds it.
func TestPendingIntentWithSecretNaturalKeyIsRecovered(t *testing.T) {
	const secretName = "Secret-Shop-Name-EEEE"
	e := testenv.New(t, testenv.Options{Env: map[string]string{"SECRET_A": testenv.SecretA, "SECRET_B": testenv.SecretB, "SECRET_NAME": secretName}})
	e.Write(t, "x.yaml", strings.Replace(testenv.PatchworksDoc("pw-secret", "x"), `name: "x"`, `name: ${env:SECRET_NAME}`, 1))
	set := e.Load(t)
	d := set.Resources[0]
	ctx := context.Background()
	pl, _ := registry.For(d.Key.Kind)
	nk := d.SafeNaturalKey(e.Hasher, pl)
	if !syncd.NaturalKeyHashed(nk) || strings.Contains(nk, secretName) {
		t.Fatalf("journal key %q", nk)
	}
	id, err := e.State.BeginIntent(ctx, syncd.Intent{Key: d.Key, NaturalKey: nk, Action: "create"})
	if err != nil {
		t.Fatal(err)
	}
	// The crash: the object exists, nothing else was recorded.
	if _, err := e.Providers[syncd.PatchworksConnector].Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reconcile(t, ctx, syncd.ModeApply, false); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, e.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var state string
	if err := conn.QueryRow(ctx, `SELECT state FROM intents WHERE id = $1`, id).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != syncd.IntentSucceeded {
		t.Fatalf("intent state %q, want %q (found by its clear key)", state, syncd.IntentSucceeded)
	}
	if n := e.Emu.ConnectorCount(); n != 1 {
		t.Fatalf("%d connectors, want 1", n)
	}
}
