package reliability

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/pgtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/fingerprint")

// The secrets of the fingerprint scenario. None of them may appear in a
// golden file (TestFingerprint checks, in several encodings).
const (
	fpMakeSecret        = "fp-make-secret-6d1e0b93c4"
	fpMakeSecretRotated = "fp-make-rotated-2a7f55e810"
	fpPWSecret          = "fp-pw-secret-91c3d4e7aa"
	fpPWSecretAdded     = "fp-pw-added-secret-0f4b8e6d21"
	// Literal values sensitive by their key's name or secret: true, and
	// values of ${file:} and ${env:} references.
	fpLiteralToken        = "fp-literal-token-5b2e9c1d07"
	fpLiteralTokenRotated = "fp-literal-token-rotated-c44e"
	fpLiteralVar          = "fp-literal-var-secret-3f9a0c"
	fpLiteralVarRotated   = "fp-literal-var-rotated-81d2"
	fpFileSecret          = "fp-file-secret-77c1e0b4a2"
	fpFileSecretRotated   = "fp-file-secret-rotated-19ab"
	fpEnvURLSecret        = "https://fp-env-url-secret.example.com/a8d3"
	fpEnvURLSecretRotated = "https://fp-env-url-rotated.example.com/6f0e"
)

// fpSecrets are every secret of the scenario.
var fpSecrets = []string{
	fpMakeSecret, fpMakeSecretRotated, fpPWSecret, fpPWSecretAdded,
	fpLiteralToken, fpLiteralTokenRotated, fpLiteralVar, fpLiteralVarRotated,
	fpFileSecret, fpFileSecretRotated, fpEnvURLSecret, fpEnvURLSecretRotated,
}

// fpApps are the Make apps of the scenario. Each Make resource has its own
// app, so that the names the emulator assigns (per app, in creation order)
// do not depend on the order of concurrent creates.
var fpApps = []string{"fp-adopt", "fp-alpha", "fp-gamma", "fp-delta", "fp-m1", "fp-m2", "fp-m3", "fp-m4", "fp-m5", "fp-m6", "fp-import", "fp-ext", "fp-prot", "fp-sens"}

// TestFingerprint is syncd's behaviour fingerprint: a fixed, seeded
// scenario run through the syncd binary built from this tree, against the
// emulator (real HTTP) and a real PostgreSQL, over both platforms: adopt,
// create, update, replace (a create-only field), drift detected in report
// mode (an out-of-band edit) and resolved by apply, a write-only secret
// added and one rotated, delete with prune, a manifest that fails to load
// (no delete, manifest_invalid), a crash after and before a create (SIGKILL
// while the emulator holds the create's answer) recovered by the next run,
// a blocked and then an allowed mass delete, import then adopt, inventory
// forget and bind, a saved plan applied and a stale one refused, a write
// the platform did not keep, a binding by externalId, policy protect,
// report and ignore, and values sensitive by their key's name, by a
// ${file:} reference and in a section. After every step it records the
// commands run with their exit codes, stdout and stderr (log lines left
// out); `syncd plan --format json --prune` around each command that
// writes; the new audit_events rows (every column, normalised); the
// inventory, intents, drift and runs tables; and the API requests the
// step sent by route and status. Each step is compared with
// testdata/fingerprint/<step>.golden, and no golden file may hold one of
// the scenario's secrets (raw, JSON-escaped, URL-encoded, base64).
//
// Use, to prove a refactor keeps behaviour: run it on the branch,
//
//	bash scripts/with-postgres go test -count=1 -run Fingerprint ./internal/reliability/
//
// A failure (a diff in testdata) means behaviour changed. To see the whole
// change, or to accept an intended one, rewrite the golden files and read
// `git diff internal/reliability/testdata/fingerprint`:
//
//	bash scripts/with-postgres go test -count=1 -run Fingerprint ./internal/reliability/ -update
//
// (-update goes after the package). SYNCD_BIN, when set, is the binary
// tested instead of a fresh build.
//
// What is normalised away, because it differs between two runs of the same
// code: occurred_at, id, event_key, prev_hash and row_hash of audit rows
// (time, chain position and hashes), and the same in `syncd audit` JSON;
// run ids (replaced by run-1, run-2, ... in order of first appearance);
// wall-clock times and ages (<time>, <age>); the emulator's URL and the
// temporary directories' paths. Within one run, audit rows of different
// resources interleave as the executor's workers finish (it writes up to 4
// resources at once), so the rows of a run are stably sorted by resource
// (run_started first, run_finished last), keeping the order of one
// resource's rows as written; intents are listed by resource for the same
// reason. Everything else is kept as is: event types, resource keys,
// remote ids (the emulator assigns them deterministically: each Make
// resource has its own app and no step creates two Patchworks connectors),
// actions, field changes, outcomes, error texts, modes, actors, the
// inventory's keyed hashes (SYNCD_HMAC_KEY is fixed), request counts.
func TestFingerprint(t *testing.T) {
	t.Parallel()
	f := newFingerprint(t)
	f.run()
	f.check()
}

// fingerprint is the state of one scenario run.
type fingerprint struct {
	t    *testing.T
	s    stackEnv
	emu  *emulator.Server
	hold *holdingHandler
	url  string
	// importDir receives what syncd import writes.
	importDir string
	planFile  string              // where plan --out saves
	secretDir string              // SYNCD_SECRET_DIRS
	env       map[string]string   // secret references the manifests use
	lastID    int64               // audit rows up to this id were captured
	runs      map[string]string   // run id -> run-N
	prevState map[string][]string // state table -> rows after the last step
	steps     []fpStep
	buf       *bytes.Buffer // the step being recorded
}

type fpStep struct{ name, text string }

func newFingerprint(t *testing.T) *fingerprint {
	bin := syncdBinary(t)
	emu := emulator.New(emulator.Options{Seed: 14, MakeApps: fpApps, Now: func() time.Time { return fixedTime }})
	hold := &holdingHandler{next: emu, held: make(chan string, 1)}
	srv := httptest.NewServer(hold)
	t.Cleanup(func() { emu.Close(); srv.Close() })
	f := &fingerprint{
		t: t, emu: emu, hold: hold, url: srv.URL,
		env:  map[string]string{"FP_MAKE_SECRET": fpMakeSecret, "FP_PW_SECRET": fpPWSecret, "FP_PW_SECRET_ADDED": fpPWSecretAdded},
		runs: map[string]string{}, prevState: map[string][]string{},
	}
	f.importDir, f.secretDir = t.TempDir(), t.TempDir()
	f.planFile = filepath.Join(t.TempDir(), "saved.plan")
	f.s = stackEnv{bin: bin, dir: t.TempDir(), db: pgtest.Database(t), spool: t.TempDir(), url: srv.URL}
	return f
}

// run plays the scenario.
func (f *fingerprint) run() {
	t := f.t
	f.step("00-migrate", func() {
		f.syncd("migrate")
	})

	f.step("01-adopt", func() {
		f.seed(`{"make": {"apps": {"fp-adopt": {"connections": [{
			"label": "Adopted", "type": "apikey",
			"sections": {"api": {"url": "https://api.example.com/adopted", "headers": {"authorization": "Bearer {{connection.apiKey}}"}},
				"parameters": [{"name": "apiKey", "type": "password", "label": "API key"}]},
			"common": {"clientId": "id-adopted", "clientSecret": "` + fpMakeSecret + `"}}]}}},
		"patchworks": {"connectors": [{
			"name": "Adopted connector", "authentication_implementation_id": "42", "timezone": "Europe/London",
			"date_format": "d/m/Y H:i", "rate_limit_unit": "minute", "rate_limit_duration": 60,
			"variables": [{"key": "shop_domain", "value": "adopted.example.com", "label": "Shop domain", "secret": false},
				{"key": "api_token", "value": "` + fpPWSecret + `", "label": "API token", "secret": true}]}]}}`)
		f.write("make/adopted.yaml", fpMake("adopted", "fp-adopt", "Adopted", "apikey", "https://api.example.com/adopted"))
		f.write("patchworks/adopted.yaml", fpPatchworks("adopted", "Adopted connector", "Europe/London", false))
		f.applyStep("apply", "--auto-approve")
	})

	f.step("02-create", func() {
		f.write("make/alpha.yaml", fpMake("alpha", "fp-alpha", "Alpha", "apikey", "https://api.example.com/alpha"))
		f.write("patchworks/beta.yaml", fpPatchworks("beta", "Beta connector", "Europe/London", false))
		f.applyStep("apply", "--auto-approve")
	})

	f.step("03-update", func() {
		f.write("make/alpha.yaml", fpMake("alpha", "fp-alpha", "Alpha", "apikey", "https://api.example.com/alpha-v2"))
		f.write("patchworks/beta.yaml", fpPatchworks("beta", "Beta connector", "Europe/Paris", false))
		f.applyStep("apply", "--auto-approve")
	})

	f.step("04-replace", func() {
		// type is create-only on Make: a change replaces the connection.
		f.write("make/alpha.yaml", fpMake("alpha", "fp-alpha", "Alpha", "basic", "https://api.example.com/alpha-v2"))
		f.applyStep("apply", "--auto-approve")
	})

	f.step("05-drift-report", func() {
		alpha := f.makeConnection("fp-alpha", "Alpha")
		beta := f.connectorID("Beta connector")
		f.control(http.MethodPatch, "/_emulator/make/connections/"+alpha, `{"label": "Alpha (edited in the console)"}`)
		f.control(http.MethodPatch, "/_emulator/patchworks/connectors/"+beta, `{"timezone": "UTC"}`)
		f.applyStep("run", "--once", "--mode", "report", "--listen", "", "--detailed-exitcode")
		f.syncd("drift", "--format", "json")
	})

	f.step("06-drift-resolved-by-apply", func() {
		f.applyStep("apply", "--auto-approve")
		f.syncd("drift", "--format", "json")
	})

	f.step("07-write-only-secret", func() {
		// A secret variable added to a connector, and the Make secret
		// rotated: both are write-only, compared by hash.
		f.write("patchworks/beta.yaml", fpPatchworks("beta", "Beta connector", "Europe/Paris", true))
		f.env["FP_MAKE_SECRET"] = fpMakeSecretRotated
		f.applyStep("apply", "--auto-approve")
	})

	f.step("08-delete-prune", func() {
		f.remove("patchworks/beta.yaml")
		f.plan()
		f.syncd("apply", "--auto-approve")
		f.plan()
		f.applyStep("apply", "--auto-approve", "--prune")
	})

	f.step("09-load-failure", func() {
		// adopted.yaml gone would be a delete; the broken manifest must
		// turn the run into one without deletes.
		f.remove("make/adopted.yaml")
		f.write("make/broken.yaml", "apiVersion: syncd/v1\nkind: MakeConnection\nmetadata:\n  name: broken\nspec:\n  app: fp-alpha\n  type: no-such-type\n  labl: Broken\n")
		f.syncd("validate")
		f.syncd("plan", "--format", "markdown", "--prune")
		f.applyStep("apply", "--auto-approve", "--prune")
		f.syncd("run", "--once", "--mode", "apply", "--prune", "--listen", "")
		f.remove("make/broken.yaml")
		f.write("make/adopted.yaml", fpMake("adopted", "fp-adopt", "Adopted", "apikey", "https://api.example.com/adopted"))
		f.plan()
	})

	f.step("10-crash-after-create", func() {
		f.write("make/gamma.yaml", fpMake("gamma", "fp-gamma", "Gamma", "apikey", "https://api.example.com/gamma"))
		f.plan()
		f.crashApply(holdAfter)
		f.plan()
		f.applyStep("apply", "--auto-approve")
	})

	f.step("11-crash-before-create", func() {
		f.write("make/delta.yaml", fpMake("delta", "fp-delta", "Delta", "apikey", "https://api.example.com/delta"))
		f.plan()
		f.crashApply(holdBefore)
		f.plan()
		f.applyStep("apply", "--auto-approve")
	})

	f.step("12-fleet", func() {
		for i := 1; i <= 6; i++ {
			n := fmt.Sprintf("m%d", i)
			f.write("make/"+n+".yaml", fpMake(n, "fp-"+n, "Member "+n, "apikey", "https://api.example.com/"+n))
		}
		f.applyStep("apply", "--auto-approve")
	})

	f.step("13-mass-delete-blocked", func() {
		for i := 1; i <= 6; i++ {
			f.remove(fmt.Sprintf("make/m%d.yaml", i))
		}
		f.applyStep("apply", "--auto-approve", "--prune")
	})

	f.step("14-mass-delete-allowed", func() {
		f.applyStep("apply", "--auto-approve", "--prune", "--allow-mass-delete")
	})

	f.step("15-crash-after-create-patchworks", func() {
		f.write("patchworks/epsilon.yaml", fpPatchworks("epsilon", "Epsilon connector", "Europe/London", true))
		f.plan()
		f.crashApply(holdAfter)
		f.plan()
		f.applyStep("apply", "--auto-approve")
	})

	f.step("16-import-then-adopt", func() {
		f.seed(`{"make": {"apps": {"fp-import": {"connections": [{
			"label": "Imported", "type": "oauth",
			"sections": {"api": {"url": "https://api.example.com/imported"}, "scope": ["read"]},
			"common": {"clientId": "id-imported", "clientSecret": "` + fpMakeSecret + `"}}]}}},
		"patchworks": {"connectors": [{
			"name": "Imported connector", "authentication_implementation_id": "7", "timezone": "UTC",
			"date_format": "Y-m-d", "rate_limit_unit": "second", "rate_limit_duration": 1,
			"variables": [{"key": "region", "value": "eu", "label": "Region", "secret": false},
				{"key": "api_token", "value": "` + fpPWSecret + `", "label": "API token", "secret": true}]}]}}`)
		// Import writes every Patchworks connector (the ones syncd already
		// manages too): into a directory of its own, from which the new
		// objects' manifests are copied into the manifests directory.
		f.plan("--show-unmanaged")
		out := f.importDir
		f.syncd("import", "--kind", "MakeConnection", "--app", "fp-import", "--out", out)
		f.syncd("import", "--kind", "PatchworksConnector", "--out", out)
		f.files(out)
		for _, rel := range []string{"schema.json", "patchworksconnector/imported-connector.yaml"} {
			f.copyImported(rel)
		}
		names, err := filepath.Glob(filepath.Join(out, "makeconnection", "fp-import-imported.*"))
		if err != nil || len(names) == 0 {
			t.Fatalf("import wrote no manifest of the Make connection (%v)", err)
		}
		for _, n := range names {
			f.copyImported(filepath.Join("makeconnection", filepath.Base(n)))
		}
		f.applyStep("apply", "--auto-approve")
	})

	f.step("17-inventory-and-queries", func() {
		f.syncd("inventory", "forget", "MakeConnection/delta")
		f.plan()
		f.syncd("inventory", "bind", "MakeConnection/delta", "fp-delta")
		f.plan()
		f.syncd("inventory", "list", "--format", "json")
		f.syncd("drift", "--format", "json")
		f.syncd("audit", "verify")
		f.syncd("audit", "--format", "json", "--resource", "MakeConnection/delta")
	})

	f.step("18-saved-plan", func() {
		f.write("patchworks/epsilon.yaml", fpPatchworks("epsilon", "Epsilon connector", "Europe/Berlin", true))
		f.savedPlan()
		f.syncd("apply", f.planFile)
		f.plan()
	})

	f.step("19-stale-saved-plan", func() {
		f.write("patchworks/epsilon.yaml", fpPatchworks("epsilon", "Epsilon connector", "Europe/Madrid", true))
		f.savedPlan()
		f.control(http.MethodPatch, "/_emulator/patchworks/connectors/"+f.connectorID("Epsilon connector"), `{"date_format": "Y-m-d"}`)
		f.syncd("apply", f.planFile)
		f.plan()
	})

	f.step("20-write-not-kept", func() {
		// The platform answers the write of timezone as a success and
		// keeps nothing: each attempt fails as not effective. Four runs in
		// a row record whether the change is held back as stuck (the
		// count carries from one run --once process to the next; the
		// first run also fixes date_format, so the live state, and with it
		// the count, changes once).
		f.control(http.MethodPost, "/_emulator/knobs", `{"ignore_fields": ["patchworks/timezone"]}`)
		for range 4 {
			f.syncd("run", "--once", "--mode", "apply", "--listen", "", "--detailed-exitcode")
		}
		f.syncd("drift", "--format", "json")
		f.control(http.MethodPost, "/_emulator/knobs", `{"ignore_fields": []}`)
		f.applyStep("apply", "--auto-approve")
	})

	f.step("21-identity-and-protect", func() {
		f.seed(`{"make": {"apps": {"fp-ext": {"connections": [{"label": "Old label", "type": "apikey"}]}}}}`)
		// externalId binds the seeded connection despite its label.
		f.write("make/ext.yaml", withMetadata(fpMake("ext", "fp-ext", "External", "apikey", "https://api.example.com/ext"), "  externalId: fp-ext\n"))
		f.write("make/prot.yaml", withPolicy(fpMake("prot", "fp-prot", "Protected", "apikey", "https://api.example.com/prot"), "  protect: true\n"))
		f.applyStep("apply", "--auto-approve")
	})

	f.step("22-policies", func() {
		// protect: a replace is blocked. mode report: a change is only
		// reported. ignore: a live change of an ignored field is no drift.
		f.write("make/prot.yaml", withPolicy(fpMake("prot", "fp-prot", "Protected", "basic", "https://api.example.com/prot"), "  protect: true\n"))
		f.write("make/alpha.yaml", withPolicy(fpMake("alpha", "fp-alpha", "Alpha", "basic", "https://api.example.com/alpha-v3"), "  mode: report\n"))
		f.write("make/gamma.yaml", withPolicy(fpMake("gamma", "fp-gamma", "Gamma", "apikey", "https://api.example.com/gamma"), "  ignore: [\"/sections/api/url\"]\n"))
		f.control(http.MethodPatch, "/_emulator/make/connections/"+f.makeConnection("fp-gamma", "Gamma"),
			`{"sections": {"api": {"url": "https://elsewhere.example.com/gamma", "headers": {"authorization": "Bearer {{connection.apiKey}}"}}}}`)
		f.applyStep("apply", "--auto-approve")
		f.applyStep("run", "--once", "--mode", "apply", "--listen", "", "--detailed-exitcode")
	})

	f.step("23-sensitive-by-name-reference-and-file", func() {
		// Sensitive: a common key named like a secret (a literal), a
		// ${file:} and an ${env:} reference (in a section), a secret
		// variable with a literal value. Then each value changes.
		f.secretFile("sens-password", fpFileSecret)
		f.env["FP_SECTION_URL"] = fpEnvURLSecret
		sens := func(token string) string {
			doc := fpMake("sens", "fp-sens", "Sensitive", "apikey", "${env:FP_SECTION_URL}")
			return strings.Replace(doc, "    clientSecret: ${env:FP_MAKE_SECRET}\n",
				"    accessToken: "+token+"\n    password: ${file:"+filepath.Join(f.secretDir, "sens-password")+"}\n", 1)
		}
		epsilon := func(v string) string {
			return fpPatchworks("epsilon", "Epsilon connector", "Europe/Madrid", true) +
				"    - key: legacy_key\n      value: " + v + "\n      label: Legacy key\n      secret: true\n"
		}
		f.write("make/sens.yaml", sens(fpLiteralToken))
		f.write("patchworks/epsilon.yaml", epsilon(fpLiteralVar))
		f.applyStep("apply", "--auto-approve")
		f.write("make/sens.yaml", sens(fpLiteralTokenRotated))
		f.write("patchworks/epsilon.yaml", epsilon(fpLiteralVarRotated))
		f.secretFile("sens-password", fpFileSecretRotated)
		f.env["FP_SECTION_URL"] = fpEnvURLSecretRotated
		f.syncd("plan", "--format", "markdown", "--prune", "--detailed-exitcode")
		f.syncd("plan", "--format", "text", "--prune", "--detailed-exitcode")
		f.applyStep("apply", "--auto-approve")
	})
	t.Logf("%d steps", len(f.steps))
}

// secretFile writes a file under the secret directory.
func (f *fingerprint) secretFile(name, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.secretDir, name), []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
	fmt.Fprintf(f.buf, "# secret file %s changed\n", name)
}

// withMetadata adds lines to a manifest's metadata.
func withMetadata(doc, lines string) string {
	i := strings.Index(doc, "spec:\n")
	return doc[:i] + lines + doc[i:]
}

// withPolicy adds a policy block to a manifest.
func withPolicy(doc, lines string) string {
	i := strings.Index(doc, "spec:\n")
	return doc[:i] + "policy:\n" + lines + doc[i:]
}

// savedPlan runs plan --out and records the plan file.
func (f *fingerprint) savedPlan() {
	f.t.Helper()
	f.syncd("plan", "--out", f.planFile, "--detailed-exitcode")
	data, err := os.ReadFile(f.planFile)
	if err != nil {
		f.t.Fatal(err)
	}
	writeSection(f.buf, "plan file", string(data))
}

// copyImported copies rel from the import directory to imported/rel in
// the manifests directory.
func (f *fingerprint) copyImported(rel string) {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.importDir, rel))
	if err != nil {
		f.t.Fatal(err)
	}
	f.write(filepath.Join("imported", rel), string(data))
}

// files records the files under dir, in path order: their content, or
// for the JSON Schema (compared by the desired package's golden test)
// its digest.
func (f *fingerprint) files(dir string) {
	t := f.t
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if filepath.Base(p) == "schema.json" {
			fmt.Fprintf(f.buf, "-- file %s: %d bytes, sha256 %x\n", rel, len(data), sha256.Sum256(data))
			return nil
		}
		fmt.Fprintf(f.buf, "-- file %s\n%s\n", rel, strings.TrimRight(string(data), "\n"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// step records one step: what fn ran, the audit rows it added and the API
// requests it sent.
func (f *fingerprint) step(name string, fn func()) {
	f.t.Helper()
	f.buf = &bytes.Buffer{}
	f.emu.ResetCounts()
	fn()
	f.auditRows()
	f.state()
	f.requests()
	// Normalised at the end: the run ids the commands printed are known
	// once the step's audit rows are read.
	f.steps = append(f.steps, fpStep{name: name, text: f.normalize(f.buf.String())})
}

// applyStep is plan, the command, plan.
func (f *fingerprint) applyStep(args ...string) {
	f.plan()
	f.syncd(args...)
	f.plan()
}

func (f *fingerprint) plan(extra ...string) {
	out := f.syncd(append([]string{"plan", "--format", "json", "--prune", "--detailed-exitcode"}, extra...)...)
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(out), "", "  "); err != nil {
		fmt.Fprintf(f.buf, "(not JSON: %v)\n%s\n", err, f.normalize(out))
		return
	}
	fmt.Fprintf(f.buf, "%s\n", f.normalize(b.String()))
}

// syncd runs the binary and records its exit code; it returns stdout.
func (f *fingerprint) syncd(args ...string) string {
	f.t.Helper()
	cmd := f.command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			f.t.Fatalf("syncd %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	fmt.Fprintf(f.buf, "$ syncd %s\nexit %d\n", shellArgs(args), code)
	switch {
	case args[0] == "plan" && slices.Contains(args, "json"): // shown by f.plan
	case args[0] == "audit":
		// Event ids are chain positions (the order in which concurrent
		// workers wrote); event keys are random.
		out := auditIDRE.ReplaceAllString(stdout.String(), `"id": "<id>"`)
		writeSection(f.buf, "stdout", eventKeyRE.ReplaceAllString(out, `"event_key": "<key>"`))
	default:
		writeSection(f.buf, "stdout", stdout.String())
	}
	// Log lines (time=...) are left out: warnings such as the unkeyed
	// audit chain's, and the progress lines, whose number depends on time.
	var kept []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if !strings.HasPrefix(line, "time=") {
			kept = append(kept, line)
		}
	}
	writeSection(f.buf, "stderr", strings.Join(kept, "\n"))
	return stdout.String()
}

// writeSection writes text under a heading unless it is blank.
func writeSection(w io.Writer, heading, text string) {
	if strings.TrimSpace(text) == "" {
		return
	}
	fmt.Fprintf(w, "-- %s\n%s\n", heading, strings.TrimRight(text, "\n"))
}

// shellArgs shows args as typed in a shell.
func shellArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "" {
			out[i] = "''"
		}
	}
	return strings.Join(out, " ")
}

func (f *fingerprint) command(args ...string) *exec.Cmd {
	cmd := f.s.command(args...)
	// A fixed HMAC key (instead of one generated in the database) keeps
	// the inventory's hashes comparable between runs.
	cmd.Env = append(cmd.Env, "SYNCD_ACTOR=fingerprint", "SYNCD_LOG_LEVEL=warn", "SYNCD_HMAC_KEY=fingerprint-hmac-key-0123456789abcdef", "SYNCD_SECRET_DIRS="+f.secretDir)
	for k, v := range f.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// What the emulator does with the create it holds.
const (
	holdBefore = "before" // the create never reaches the platform
	holdAfter  = "after"  // the platform creates the object; the answer is lost
)

// crashApply runs apply, holds its first create (see holdingHandler) and
// kills the process with SIGKILL while it waits for the answer: the
// intent is journalled, the binding is not.
func (f *fingerprint) crashApply(mode string) {
	t := f.t
	t.Helper()
	f.hold.arm(mode)
	defer f.hold.arm("")
	cmd := f.command("apply", "--auto-approve")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case path := <-f.hold.held:
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-exited
		fmt.Fprintf(f.buf, "$ syncd apply --auto-approve\nkilled while the create (POST %s) waited for its answer, %s it reached the platform\n", path, mode)
		// What the crash left behind: the announced change, the pending
		// intent, the unfinished run.
		f.auditRows()
		f.state()
	case err := <-exited:
		t.Fatalf("apply ended (%v) without sending a create:\n%s", err, out.String())
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("apply sent no create within 2 minutes:\n%s", out.String())
	}
}

// holdingHandler passes requests to the emulator; when armed, it holds the
// next API POST (a create) until the client goes away, having carried it
// out first (holdAfter) or not (holdBefore), and reports its path on held.
type holdingHandler struct {
	next http.Handler
	held chan string
	mu   sync.Mutex
	mode string
}

func (h *holdingHandler) arm(mode string) {
	h.mu.Lock()
	h.mode = mode
	h.mu.Unlock()
}

func (h *holdingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && !strings.HasPrefix(r.URL.Path, "/_emulator/") {
		h.mu.Lock()
		mode := h.mode
		h.mode = ""
		h.mu.Unlock()
		if mode != "" {
			if mode == holdAfter {
				h.next.ServeHTTP(httptest.NewRecorder(), r)
			} else {
				_, _ = io.Copy(io.Discard, r.Body)
			}
			h.held <- r.URL.Path
			<-r.Context().Done() // the client was killed
			return
		}
	}
	h.next.ServeHTTP(w, r)
}

func (f *fingerprint) write(rel, content string) {
	f.t.Helper()
	p := filepath.Join(f.s.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
	fmt.Fprintf(f.buf, "# write %s\n", rel)
}

func (f *fingerprint) remove(rel string) {
	f.t.Helper()
	if err := os.Remove(filepath.Join(f.s.dir, rel)); err != nil {
		f.t.Fatal(err)
	}
	fmt.Fprintf(f.buf, "# remove %s\n", rel)
}

func (f *fingerprint) seed(body string) {
	f.t.Helper()
	out := f.control(http.MethodPost, "/_emulator/seed", body)
	fmt.Fprintf(f.buf, "# seed: %s\n", out)
}

// control calls the emulator's out-of-band API and returns its answer.
func (f *fingerprint) control(method, path, body string) string {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("%s %s: %s: %s", method, path, resp.Status, out)
	}
	if method != http.MethodPost {
		fmt.Fprintf(f.buf, "# out of band: %s %s %s\n", method, path, body)
	}
	return strings.TrimSpace(string(out))
}

// makeConnection is the name of the Make connection labelled label in app.
func (f *fingerprint) makeConnection(app, label string) string {
	f.t.Helper()
	for _, c := range f.emu.State().Make.Apps[app].Connections {
		if c.Label == label {
			return c.Name
		}
	}
	f.t.Fatalf("no Make connection %q in %s", label, app)
	return ""
}

// connectorID is the id of the Patchworks connector called name.
func (f *fingerprint) connectorID(name string) string {
	f.t.Helper()
	for _, c := range f.emu.State().Patchworks.Connectors {
		if c.Attributes["name"] == name {
			return fmt.Sprint(c.ID)
		}
	}
	f.t.Fatalf("no Patchworks connector %q", name)
	return ""
}

// auditRows records the audit_events rows added since the last step.
func (f *fingerprint) auditRows() {
	t := f.t
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id, to_jsonb(e)::text FROM audit_events e WHERE id > $1 ORDER BY id`, f.lastID)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		id  int64
		row map[string]any
	}
	var recs []rec
	for rows.Next() {
		var id int64
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec{id, row})
		f.lastID = id
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Run ids in order of first appearance (runs do not overlap here).
	for _, r := range recs {
		if id, ok := r.row["run_id"].(string); ok && f.runs[id] == "" {
			f.runs[id] = fmt.Sprintf("run-%d", len(f.runs)+1)
		}
	}
	// Stable sort within each run by resource: the executor's workers
	// interleave the rows of different resources.
	phase := func(m map[string]any) int {
		switch m["event_type"] {
		case "run_started":
			return 0
		case "run_finished":
			return 2
		}
		return 1
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	segment := func(i int) string { return str(recs[i].row, "run_id") }
	for start := 0; start < len(recs); {
		end := start + 1
		for end < len(recs) && segment(end) == segment(start) {
			end++
		}
		seg := recs[start:end]
		sort.SliceStable(seg, func(i, j int) bool {
			a, b := seg[i].row, seg[j].row
			if pa, pb := phase(a), phase(b); pa != pb {
				return pa < pb
			}
			if ka, kb := str(a, "resource_kind"), str(b, "resource_kind"); ka != kb {
				return ka < kb
			}
			return str(a, "resource_name") < str(b, "resource_name")
		})
		start = end
	}
	fmt.Fprintf(f.buf, "-- audit_events (%d new rows)\n", len(recs))
	for _, r := range recs {
		row := r.row
		for _, k := range []string{"id", "occurred_at", "event_key", "prev_hash", "row_hash"} {
			if _, ok := row[k]; !ok {
				t.Fatalf("audit_events has no column %s: the fingerprint must be revised", k)
			}
			delete(row, k)
		}
		b, err := json.Marshal(row) // keys sorted
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f.buf, "%s\n", f.normalize(string(b)))
	}
}

// stateTables are the state syncd keeps besides the audit log, each with
// the order its rows are listed in and the columns dropped (times, and
// identity ids that a rolled-back insert may skip). Intents are listed by
// resource, then id: the executor's workers insert those of different
// resources in any order.
var stateTables = []struct {
	name, order string
	drop        []string
}{
	{"inventory", "kind, name", []string{"created_at", "updated_at"}},
	{"intents", "kind, name, id", []string{"id", "created_at", "updated_at"}},
	{"drift", "kind, name, first_seen", []string{"id", "first_seen", "last_seen", "resolved_at"}},
	{"runs", "started_at", []string{"started_at", "finished_at"}},
}

// state records how each state table changed in the step: the rows
// added and removed (an updated row is both), so that a difference shows
// in the step that made it only. A table that is gone (renamed, split)
// shows as such, and the rest still compares.
func (f *fingerprint) state() {
	t := f.t
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, tb := range stateTables {
		rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT to_jsonb(x)::text FROM %s x ORDER BY %s`, tb.name, tb.order))
		var texts, lines []string
		if err == nil {
			texts, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			fmt.Fprintf(f.buf, "-- table %s\n(%v)\n", tb.name, err)
			continue
		}
		for _, text := range texts {
			dec := json.NewDecoder(strings.NewReader(text))
			dec.UseNumber()
			var row map[string]any
			if err := dec.Decode(&row); err != nil {
				t.Fatal(err)
			}
			for _, k := range tb.drop {
				delete(row, k)
			}
			b, err := json.Marshal(row) // keys sorted
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, f.normalize(string(b)))
		}
		fmt.Fprintf(f.buf, "-- table %s: %d rows; changed since the previous listing:\n", tb.name, len(lines))
		removed, added := lineChanges(f.prevState[tb.name], lines)
		for _, l := range removed {
			fmt.Fprintf(f.buf, "- %s\n", l)
		}
		for _, l := range added {
			fmt.Fprintf(f.buf, "+ %s\n", l)
		}
		f.prevState[tb.name] = lines
	}
}

// lineChanges returns the lines of before that after lacks and the lines
// of after that before lacks (as multisets), each in its own order.
func lineChanges(before, after []string) (removed, added []string) {
	count := map[string]int{}
	for _, l := range after {
		count[l]++
	}
	for _, l := range before {
		if count[l] > 0 {
			count[l]--
		} else {
			removed = append(removed, l)
		}
	}
	count = map[string]int{}
	for _, l := range before {
		count[l]++
	}
	for _, l := range after {
		if count[l] > 0 {
			count[l]--
		} else {
			added = append(added, l)
		}
	}
	return removed, added
}

// requests records the API requests of the step by route and status.
func (f *fingerprint) requests() {
	c := f.emu.Counts()
	var lines []string
	for name, pc := range map[string]emulator.PlatformCounts{"make": c.Make, "patchworks": c.Patchworks} {
		for route, n := range pc.ByRoute {
			lines = append(lines, fmt.Sprintf("%s %s: %d", name, route, n))
		}
		for status, n := range pc.ByStatus {
			lines = append(lines, fmt.Sprintf("%s status %s: %d", name, status, n))
		}
	}
	sort.Strings(lines)
	fmt.Fprintf(f.buf, "-- requests\n%s\n", strings.Join(lines, "\n"))
}

// normalize replaces what differs between runs of the same code.
func (f *fingerprint) normalize(s string) string {
	pairs := []string{f.url, "<emulator>", f.s.dir, "<manifests>", f.importDir, "<import>", f.planFile, "<planfile>", f.secretDir, "<secrets>", strings.TrimPrefix(f.url, "http://"), "<emulator-host>"}
	for id, name := range f.runs {
		pairs = append(pairs, id, name)
	}
	s = strings.NewReplacer(pairs...).Replace(s)
	s = timestampRE.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, fixedTime.Format("2006-01-02T15:04:05")) {
			return m
		}
		return "<time>"
	})
	return ageRE.ReplaceAllString(s, `"age_seconds": "<age>"`)
}

// Wall-clock times (drift's first and last seen) and ages; the emulator's
// own clock is fixed and its times are kept.
var (
	timestampRE = regexp.MustCompile(`\b20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	ageRE       = regexp.MustCompile(`"age_seconds": *\d+`)
	auditIDRE   = regexp.MustCompile(`"id": \d+`)
	eventKeyRE  = regexp.MustCompile(`"event_key": "[^"]*"`)
)

// fixedTime is the emulator's clock.
var fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// check compares every step with its golden file, or writes them with
// -update, and makes sure no golden file holds a secret.
func (f *fingerprint) check() {
	t := f.t
	dir := filepath.Join("testdata", "fingerprint")
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, s := range f.steps {
			if err := os.WriteFile(filepath.Join(dir, s.name+".golden"), []byte(s.text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, s := range f.steps {
		want[s.name+".golden"] = true
		golden, err := os.ReadFile(filepath.Join(dir, s.name+".golden"))
		if err != nil {
			t.Errorf("step %s: %v (run with -update to write the golden files)", s.name, err)
			continue
		}
		if d := cmp.Diff(strings.Split(string(golden), "\n"), strings.Split(s.text, "\n")); d != "" {
			t.Errorf("step %s: behaviour differs from testdata/fingerprint/%s.golden (-golden +now; run with -update and git diff for all of it):\n%s", s.name, s.name, d)
		}
		checkNoSecret(t, s.name+".golden", string(golden))
		checkNoSecret(t, s.name+" (this run)", s.text)
	}
	for _, n := range names {
		if !want[filepath.Base(n)] {
			t.Errorf("%s belongs to no step of the scenario (run with -update)", n)
		}
	}
}

// checkNoSecret fails when text holds one of the scenario's secrets.
func checkNoSecret(t *testing.T, name, text string) {
	t.Helper()
	for _, enc := range secretsIn(text) {
		t.Errorf("%s holds a secret of the scenario (%q)", name, enc)
	}
}

// secretsIn returns the scenario's secrets text holds, raw, JSON-escaped,
// URL-encoded or in base64.
func secretsIn(text string) []string {
	var found []string
	for _, s := range fpSecrets {
		j, _ := json.Marshal(s)
		for _, enc := range []string{s, string(j[1 : len(j)-1]), url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(text, enc) {
				found = append(found, enc)
			}
		}
	}
	return found
}

// TestFingerprintSecretCheck proves the golden files' secret check finds
// a planted secret in each encoding it knows.
func TestFingerprintSecretCheck(t *testing.T) {
	plain := fpPWSecretAdded
	tests := []struct{ name, text string }{
		{"raw", `{"after":"` + plain + `"}`},
		{"url-encoded", "x=" + url.QueryEscape(fpMakeSecretRotated)},
		{"base64", base64.StdEncoding.EncodeToString([]byte(fpMakeSecret))},
		{"base64url", base64.RawURLEncoding.EncodeToString([]byte(fpPWSecret))},
	}
	for _, tt := range tests {
		if got := secretsIn(tt.text); len(got) == 0 {
			t.Errorf("%s: secret not found in %q", tt.name, tt.text)
		}
	}
	if got := secretsIn(`{"after":"(sensitive)"}`); len(got) != 0 {
		t.Errorf("found %v in a redacted value", got)
	}
}

// fpMake is a MakeConnection manifest whose clientSecret is FP_MAKE_SECRET.
func fpMake(name, app, label, typ, apiURL string) string {
	return fmt.Sprintf(`apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: %s
spec:
  app: %s
  type: %s
  label: %q
  sections:
    api:
      url: %s
      headers:
        authorization: "Bearer {{connection.apiKey}}"
    parameters:
      - name: apiKey
        type: password
        label: API key
  common:
    clientId: id-%s
    clientSecret: ${env:FP_MAKE_SECRET}
`, name, app, typ, label, apiURL, name)
}

// fpPatchworks is a PatchworksConnector manifest with a plain variable and
// a secret one (FP_PW_SECRET); added adds a second secret variable.
func fpPatchworks(name, connName, timezone string, added bool) string {
	doc := fmt.Sprintf(`apiVersion: syncd/v1
kind: PatchworksConnector
metadata:
  name: %s
spec:
  name: %q
  authentication_implementation_id: "42"
  timezone: %s
  date_format: d/m/Y H:i
  rate_limit_unit: minute
  rate_limit_duration: 60
  variables:
    - key: shop_domain
      value: %s.example.com
      label: Shop domain
      secret: false
    - key: api_token
      value: ${env:FP_PW_SECRET}
      label: API token
      secret: true
`, name, connName, timezone, name)
	if added {
		doc += `    - key: webhook_secret
      value: ${env:FP_PW_SECRET_ADDED}
      label: Webhook secret
      secret: true
`
	}
	return doc
}
