package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/internal/watch"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// waitTimeout bounds every wait for a condition: generous for a shared,
// slow machine; a passing test never waits that long.
const waitTimeout = 60 * time.Second

// secretC replaces SECRET_B during the test: a pending change of a secret.
const secretC = "s3cr3t-value-CCCC-never-print"

// chromiumPath returns the browser to drive, installing Debian's chromium
// package through scripts/ensure-chromium when it is missing. It fails,
// never skips, when there is no browser.
func chromiumPath(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SYNCD_CHROMIUM")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "ensure-chromium"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("no headless browser: scripts/ensure-chromium: %v\n%s", err, out)
	}
	return bin
}

// browser starts one headless Chromium for the whole test, with the flags
// a machine without network needs (no QUIC, no background fetches).
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, on the browser's own context (cancelling the
	// context a browser was started on closes it), under a deadline so a
	// stalled start fails loudly instead of hanging the test.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.Navigate("about:blank")) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("chromium did not start within %s", waitTimeout)
	}
	return ctx
}

// visit loads path in the browser and returns its HTML; the page must
// answer 200.
func visit(t *testing.T, ctx context.Context, base, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(base+path))
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	if resp == nil || resp.Status != http.StatusOK {
		t.Fatalf("load %s: response %+v, want status 200", path, resp)
	}
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.outerHTML"))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return html
}

// screenshot saves the current page as name.png under dir (and under
// $SYNCD_CONSOLE_SCREENSHOTS when set, which is how docs/console.png is
// made).
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{dir}
	if extra := os.Getenv("SYNCD_CONSOLE_SCREENSHOTS"); extra != "" {
		dirs = append(dirs, extra)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// check evaluates a JavaScript condition on the current page.
func check(t *testing.T, ctx context.Context, page, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		t.Fatalf("%s: %s: %v", page, what, err)
	}
	if !ok {
		t.Errorf("%s: %s: %s is false", page, what, expr)
	}
}

func noSecrets(t *testing.T, page, html string) {
	t.Helper()
	for _, s := range []string{testenv.SecretA, testenv.SecretB, secretC} {
		if strings.Contains(html, s) {
			t.Errorf("%s: secret %q in the page's HTML", page, s)
		}
	}
}

// env is a Getenv whose values the test can change while the daemon runs.
type env struct {
	mu   sync.Mutex
	vals map[string]string
}

func (e *env) get(k string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.vals[k]
	return v, ok
}

func (e *env) set(k, v string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.vals[k] = v
}

// The console in a real browser against a daemon over the emulator and a
// real PostgreSQL: every page loads, a drift made in the emulator's console
// shows on the overview and on the resource page with its field diff, a
// pending change of a secret shows as (sensitive), and no page holds a
// secret. Screenshots of every page are saved under the test's temp dir.
func TestConsoleInBrowser(t *testing.T) {
	ctx := browser(t)
	vals := &env{vals: map[string]string{"SECRET_A": testenv.SecretA, "SECRET_B": testenv.SecretB}}
	te := testenv.New(t, testenv.Options{})
	te.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	te.Write(t, "patchworks/shop.yaml", testenv.PatchworksDoc("shop", "Shop"))
	rev := gitCommit(t, te.Dir)
	res, err := te.Reconcile(t, context.Background(), syncd.ModeApply, false)
	if err != nil || res.Report.Failed > 0 {
		t.Fatalf("initial apply: %v, %d failed", err, res.Report.Failed)
	}
	remote := remoteOf(t, te, syncd.Key{Kind: syncd.MakeConnection, Name: "alpha"})

	base, reload := startDaemon(t, te, vals.get)
	shots := t.TempDir()

	// Every page loads before any drift.
	pages := []struct{ name, path, want string }{
		{"overview", "/", "Last run"},
		{"resources", "/resources", "MakeConnection/alpha"},
		{"resources-filtered", "/resources?kind=PatchworksConnector&state=in+sync&q=shop", "PatchworksConnector/shop"},
		{"resource", "/resources/MakeConnection/alpha", "No open drift."},
		{"runs", "/runs", `id="run-`},
		{"drift", "/drift", "No drift recorded."},
	}
	for _, p := range pages {
		html := visit(t, ctx, base, p.path)
		if !strings.Contains(html, p.want) {
			t.Errorf("%s before drift: %q not in the page", p.name, p.want)
		}
		noSecrets(t, p.name, html)
	}
	if html := visit(t, ctx, base, "/"); !strings.Contains(html, rev[:12]) {
		t.Errorf("overview: manifests revision %s not shown", rev[:12])
	}
	if html := visit(t, ctx, base, "/resources?kind=PatchworksConnector"); strings.Contains(html, "MakeConnection/alpha") {
		t.Error("resources filtered by kind PatchworksConnector still lists MakeConnection/alpha")
	}

	// Someone edits the connection in Make's console.
	req, err := http.NewRequest(http.MethodPatch, te.HTTP.URL+"/_emulator/make/connections/"+remote,
		strings.NewReader(`{"label": "Alpha (edited by hand)"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("emulator edit: %s: %s", resp.Status, body)
	}
	waitFor(t, "the drift on the overview", func() bool {
		html := visit(t, ctx, base, "/")
		return strings.Contains(html, `href="/resources/MakeConnection/alpha"`) && !strings.Contains(html, "No open drift.")
	})
	html := visit(t, ctx, base, "/resources/MakeConnection/alpha")
	for _, want := range []string{"state-drifted", "<code>/label</code>",
		`<code class="live">"Alpha (edited by hand)"</code>`, `<code class="declared">"Alpha"</code>`, "drift detected"} {
		if !strings.Contains(html, want) {
			t.Errorf("resource page after drift: %q not in the page", want)
		}
	}
	if !strings.Contains(html, "Pending change") || !strings.Contains(html, "[drift]") {
		t.Error("resource page after drift: the plan's pending update marked [drift] is missing")
	}

	// A secret changes in the environment: a pending change of a secret.
	vals.set("SECRET_B", secretC)
	reload <- struct{}{}
	var last string
	waitFor(t, "the pending secret change on the resource page", func() bool {
		last = visit(t, ctx, base, "/resources/PatchworksConnector/shop")
		// The planner counts a secret that no longer matches as drift.
		return strings.Contains(last, "<code>/variables/api_token/value</code>") && strings.Contains(last, "(sensitive, changed)")
	}, func() string { return last })

	// Every page again, now with drift and a pending change: screenshots,
	// no secret, labelled controls, and no sideways scrolling on a phone.
	pages = append(pages, struct{ name, path, want string }{"resource-secret", "/resources/PatchworksConnector/shop", "(sensitive)"})
	pages[3].want, pages[4].want, pages[5].want = "Open drift", `<a href="/resources/MakeConnection/alpha">`, "MakeConnection/alpha"
	pages[2].path, pages[2].want = "/resources?state=drifted", "MakeConnection/alpha"
	for _, p := range pages {
		html := visit(t, ctx, base, p.path)
		if !strings.Contains(html, p.want) {
			t.Errorf("%s: %q not in the page", p.name, p.want)
		}
		noSecrets(t, p.name, html)
		check(t, ctx, p.name, "language", `document.documentElement.lang === "en"`)
		check(t, ctx, p.name, "every control labelled", `[...document.querySelectorAll("input, select")].every(e => e.labels.length > 0)`)
		check(t, ctx, p.name, "stylesheet applied", `getComputedStyle(document.querySelector("header.top")).display === "flex"`)
		screenshot(t, ctx, shots, p.name)
	}
	phone := func(on bool) {
		t.Helper()
		a := chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))
		if !on {
			a = chromedp.EmulateViewport(1280, 900)
		}
		if err := chromedp.Do(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	phone(true)
	for _, p := range pages {
		visit(t, ctx, base, p.path)
		check(t, ctx, p.name+" on a phone", "no sideways scrolling", `document.documentElement.scrollWidth <= window.innerWidth`)
	}
	visit(t, ctx, base, "/resources/MakeConnection/alpha")
	screenshot(t, ctx, shots, "resource-phone")
	phone(false)
	t.Logf("screenshots in %s", shots)
}

// startDaemon runs `syncd run` in report mode, scanning every second, and
// returns its base URL and its reload channel once the first run is done.
func startDaemon(t *testing.T, te *testenv.Env, getenv func(string) (string, bool)) (string, chan<- struct{}) {
	t.Helper()
	reload := make(chan struct{}, 1)
	addr := make(chan string, 1)
	d, err := daemon.New(daemon.Options{
		ManifestsDir: te.Dir, Mode: syncd.ModeReport, Schedule: "@every 1s", Listen: "127.0.0.1:0",
		Runner: te.Runner, Store: te.Store, Getenv: getenv, Reload: reload,
		Watch:  watch.Options{Quiet: 50 * time.Millisecond, MaxDelay: time.Second},
		Logger: slog.New(slog.DiscardHandler),
		Ready:  func(a string) { addr <- a },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("daemon stopped before serving: %v", err)
	case <-time.After(waitTimeout):
		cancel()
		t.Fatal("daemon did not start serving")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("daemon: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Error("daemon did not stop")
		}
	})
	waitFor(t, "/readyz", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base, reload
}

// waitFor polls cond until it holds, failing the test after waitTimeout
// with what last (if given) says about the last attempt.
func waitFor(t *testing.T, what string, cond func() bool, last ...func() string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			for _, l := range last {
				t.Logf("last seen:\n%s", l())
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func remoteOf(t *testing.T, te *testenv.Env, key syncd.Key) string {
	t.Helper()
	b, err := te.State.Bindings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bd, ok := b[key]
	if !ok {
		t.Fatalf("%s is not bound", key)
	}
	return bd.RemoteID
}

// gitCommit makes dir a git repository with one commit and returns it.
func gitCommit(t *testing.T, dir string) string {
	t.Helper()
	run := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=test", "-c", "user.email=test@example.com"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q")
	run("add", ".")
	run("commit", "-q", "-m", "manifests")
	return run("rev-parse", "HEAD")
}
