package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/testenv"
)

// The secrets the scan looks for: the manifests' value, the value after a
// rotation, and a value someone typed into the console (live drift of a
// sensitive field).
const (
	scanSecret        = "Zq7-scan-secret-9f3c1b2a"
	scanSecretRotated = "Zq7-rotated-secret-77d0e5"
	scanSecretLive    = "Zq7-console-secret-41ab6c"
)

var scanManifests = map[string]string{
	"make.yaml": `apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: scan-make
spec:
  app: scan-app
  type: apikey
  label: Scan
  sections:
    api:
      url: https://api.example.com/scan
  common:
    clientId: scan-id
    clientSecret: ${env:SCAN_SECRET}
    endpoint: ${env:SCAN_SECRET}
`,
	"patchworks.yaml": `apiVersion: syncd/v1
kind: PatchworksConnector
metadata:
  name: scan-pw
spec:
  name: Scan connector
  authentication_implementation_id: "42"
  timezone: Europe/London
  date_format: d/m/Y H:i
  rate_limit_unit: minute
  rate_limit_duration: 60
  variables:
    - key: api_token
      value: ${env:SCAN_SECRET}
      label: API token
      secret: true
    - key: region
      value: ${env:SCAN_SECRET}
      label: Region
      secret: false
`,
}

// TestSecretScan runs every command in every format, with logs at debug
// level in both log formats, and greps every stdout, stderr, written file,
// spool file, metrics and status page and a pg_dump of the database for
// the secrets.
func TestSecretScan(t *testing.T) {
	t.Parallel()
	bin := syncdBinary(t)
	for _, logFormat := range []string{"text", "json"} {
		t.Run("log-format-"+logFormat, func(t *testing.T) {
			t.Parallel()
			scan(t, bin, logFormat)
		})
	}
}

func scan(t *testing.T, bin, logFormat string) {
	emu := emulator.New(emulator.Options{Seed: 7, MakeApps: testenv.DefaultMakeApps, Knobs: emulator.Knobs{DeleteLag: -1}})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); srv.Close() })
	dir, work := t.TempDir(), t.TempDir()
	for name, content := range scanManifests {
		writeFile(t, dir, name, content)
	}
	db := pgtest.Database(t)
	s := stackEnv{bin: bin, dir: dir, db: db, spool: filepath.Join(work, "spool"), url: srv.URL,
		extraEnv: []string{"SCAN_SECRET=" + scanSecret, "SYNCD_LOG_LEVEL=debug", "SYNCD_LOG_FORMAT=" + logFormat}}
	var outputs bytes.Buffer
	step := func(wantOK bool, args ...string) {
		t.Helper()
		out, err := s.run(args...)
		fmt.Fprintf(&outputs, "\n$ syncd %s\n%s", strings.Join(args, " "), out)
		if wantOK && err != nil {
			t.Fatalf("syncd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	planFile := filepath.Join(work, "plan.out")

	step(true, "migrate")
	step(true, "validate")
	for _, f := range []string{"text", "json", "markdown"} {
		step(false, "plan", "--format", f, "--detailed-exitcode")
	}
	step(true, "plan", "--out", planFile)
	step(true, "apply", planFile)
	step(true, "apply", "--auto-approve")

	// A rotated secret: every plan format shows a sensitive change.
	s.extraEnv[0] = "SCAN_SECRET=" + scanSecretRotated
	for _, f := range []string{"text", "json", "markdown"} {
		step(false, "plan", "--format", f, "--detailed-exitcode")
	}
	step(true, "plan", "--out", planFile+"2")
	step(true, "apply", planFile+"2")

	// Someone types a secret into the console: drift on sensitive fields.
	c := emu.MakeConnections("scan-app")
	if len(c) != 1 {
		t.Fatalf("make connections: %+v", c)
	}
	common := map[string]any{"clientId": "scan-id", "clientSecret": scanSecretLive, "endpoint": scanSecretLive}
	if err := emu.EditMakeConnection(c[0].Name, emulator.MakeEdit{Common: common}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"text", "json", "markdown"} {
		step(false, "plan", "--format", f, "--detailed-exitcode")
	}

	// The daemon in report mode records the drift; its HTTP pages are scraped.
	pages := runDaemon(t, s, &outputs)
	outputs.WriteString(pages)

	for _, f := range []string{"text", "json", "markdown"} {
		step(true, "drift", "--format", f)
	}
	for _, f := range []string{"text", "json"} {
		step(true, "audit", "--format", f)
	}
	// The chain over every row this scan produced must verify: a secret
	// scrubbed after hashing would break it.
	out, err := s.run("audit", "verify")
	fmt.Fprintf(&outputs, "\n$ syncd audit verify\n%s", out)
	if err != nil || !strings.Contains(out, "audit chain intact") {
		t.Errorf("syncd audit verify: %v\n%s", err, out)
	}
	importDir := filepath.Join(work, "imported")
	step(true, "import", "--kind", "MakeConnection", "--app", "scan-app", "--out", importDir)
	step(true, "import", "--kind", "PatchworksConnector", "--out", importDir)
	step(true, "apply", "--auto-approve")

	// import writes what the platform holds: a field whose name does not
	// mark it sensitive (endpoint, the non-secret variable region) is, on
	// the platform, an ordinary value, and import writes it as it reads
	// it. Only those lines may hold a secret in imported manifests.
	imported := readTree(t, importDir)
	if strings.Contains(imported, "${env:") == false {
		t.Errorf("imported manifests hold no ${env:} reference for their secrets:\n%s", imported)
	}
	lines := strings.Split(imported, "\n")
	for i, l := range lines {
		for _, secret := range []string{scanSecret, scanSecretRotated, scanSecretLive} {
			if !strings.Contains(l, secret) {
				continue
			}
			field := strings.TrimSpace(l)
			ok := field == "endpoint: "+secret ||
				(field == "value: "+secret && i > 0 && strings.TrimSpace(lines[i-1]) == "- key: region")
			if !ok {
				t.Errorf("secret %q in an imported manifest, line %q", secret, l)
			}
		}
	}
	os.RemoveAll(importDir)
	files := readTree(t, work)
	dump := pgDump(t, db)
	for _, secret := range []string{scanSecret, scanSecretRotated, scanSecretLive} {
		for what, text := range map[string]string{"command output": outputs.String(), "written files": files, "database dump": dump} {
			if i := strings.Index(text, secret); i >= 0 {
				t.Errorf("secret %q found in %s: …%s…", secret, what, text[max(0, i-300):min(len(text), i+100)])
			}
		}
	}
	// The scan saw what it should have: the values did reach the platform.
	st := emu.State()
	if got := fmt.Sprint(st.Patchworks.Connectors); !strings.Contains(got, scanSecretRotated) {
		t.Errorf("the rotated secret never reached the platform; the scan proves nothing")
	}
	if !strings.Contains(outputs.String(), "drift") || !strings.Contains(dump, "drift_detected") {
		t.Errorf("no drift recorded; the scan did not exercise the drift path")
	}
	t.Logf("scanned %d bytes of output, %d of files, %d of database dump", outputs.Len(), len(files), len(dump))
}

// runDaemon runs `syncd run --mode report` until its first reconcile is
// done, scrapes /metrics, /v1/status, /healthz and /readyz, and stops it
// with SIGTERM.
func runDaemon(t *testing.T, s stackEnv, outputs *bytes.Buffer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := s.command("run", "--mode", "report", "--listen", addr, "--schedule", "@every 1s")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("syncd run after SIGTERM: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("syncd run did not stop on SIGTERM")
		}
		fmt.Fprintf(outputs, "\n$ syncd run\n%s", out.String())
	}()
	if err := testenv.WaitReady(addr, time.Minute); err != nil {
		t.Fatal(err)
	}
	// A scheduled scan too, not only the startup run.
	waitUntil(t, "a scheduled scan to finish", func() bool {
		return queryInt(t, s.db, `select count(*) from runs where trigger = 'schedule' and finished_at is not null`) > 0
	})
	var pages strings.Builder
	for _, p := range []string{"/metrics", "/v1/status", "/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(&pages, "\n# GET %s\n%s", p, body)
	}
	if !strings.Contains(pages.String(), "open_drifts") {
		t.Errorf("/v1/status has no open_drifts:\n%s", pages.String())
	}
	return pages.String()
}

func readTree(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		fmt.Fprintf(&b, "\n# %s\n%s", p, data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func pgDump(t *testing.T, db string) string {
	t.Helper()
	bin := pgtest.Bin("pg_dump")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--data-only", "--dbname="+db).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	return string(out)
}
