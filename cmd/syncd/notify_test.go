package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/notify"
	"github.com/syncd/syncd/internal/testenv"
)

// A notification setting that cannot work stops `syncd run` at once with
// what to fix, never quoting the URL (a Slack webhook URL is a credential).
func TestRunRefusesBadNotificationSettings(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	const token = "T0KEN-in-the-url"
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		wants string
	}{
		{"webhook without a signing secret", map[string]string{"SYNCD_NOTIFY_WEBHOOK": "https://hooks.example/" + token},
			nil, "needs SYNCD_NOTIFY_SECRET"},
		{"second webhook of the list is not a URL", map[string]string{"SYNCD_NOTIFY_WEBHOOK": "https://hooks.example/a,hooks.example/" + token, "SYNCD_NOTIFY_SECRET": "s"},
			nil, "--notify-webhook: not an http(s) URL"},
		{"slack flag not a URL", nil, []string{"--notify-slack", "ftp://hooks.slack.com/services/" + token}, "--notify-slack: not an http(s) URL"},
		{"no database", map[string]string{"SYNCD_DATABASE_URL": "", "SYNCD_NOTIFY_SLACK": "https://hooks.slack.com/services/" + token},
			nil, "need a database"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := syncdCmd(t, e, tc.env, append([]string{"run", "--listen", "127.0.0.1:0"}, tc.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.wants) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", r.code, r.stderr, tc.wants)
			}
			if strings.Contains(r.stdout+r.stderr, token) {
				t.Errorf("output quotes the URL:\n%s", r.stderr)
			}
		})
	}
}

// `syncd run` reads its sinks from the environment (a comma-separated
// webhook list, Slack, the secret, the console URL) and sends a failed
// run to every one: webhooks signed, links on SYNCD_CONSOLE_URL.
func TestRunSendsNotifications(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.FailRate = 1 }) // the startup run fails
	type got struct {
		path, body, sig string
	}
	var (
		mu    sync.Mutex
		calls []got
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, got{r.URL.Path, string(b), r.Header.Get(notify.SignatureHeader)})
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	const secret = "cli-notify-secret"
	cmd := exec.Command(syncdBin, "run", "--mode", "report", "--schedule", "", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(),
		"SYNCD_MAKE_URL="+e.HTTP.URL+"/api/v2", "SYNCD_MAKE_TOKEN="+emulator.DefaultMakeToken,
		"SYNCD_PATCHWORKS_URL="+e.HTTP.URL, "SYNCD_PATCHWORKS_TOKEN="+emulator.DefaultPatchworksToken,
		"SYNCD_DATABASE_URL="+e.DB, "SYNCD_MANIFESTS="+e.Dir, "SYNCD_SPOOL_DIR="+t.TempDir(),
		"SECRET_A="+testenv.SecretA,
		"SYNCD_NOTIFY_WEBHOOK="+recv.URL+"/one,"+recv.URL+"/two", "SYNCD_NOTIFY_SLACK="+recv.URL+"/slack/T0KEN",
		"SYNCD_NOTIFY_SECRET="+secret, "SYNCD_CONSOLE_URL=https://syncd.example.com/")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(calls)
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			t.Fatalf("timed out waiting for 3 notifications; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("syncd run: %v\n%s", err, logs.String())
	}
	mu.Lock()
	defer mu.Unlock()
	paths := map[string]bool{}
	for _, c := range calls {
		paths[c.path] = true
		if c.path == "/slack/T0KEN" {
			if c.sig != "" || !strings.Contains(c.body, `"blocks"`) || !strings.Contains(c.body, "Run failed") {
				t.Errorf("slack message: %s (signature %q)", c.body, c.sig)
			}
			continue
		}
		if !notify.Verify([]byte(secret), []byte(c.body), c.sig) {
			t.Errorf("%s: bad signature %q", c.path, c.sig)
		}
		var n notify.Notification
		if err := json.Unmarshal([]byte(c.body), &n); err != nil {
			t.Fatal(err)
		}
		if n.Type != notify.RunFailed || n.Links.Runs != "https://syncd.example.com/runs" {
			t.Errorf("%s: got %s with links %+v, want run_failed on the console URL", c.path, n.Type, n.Links)
		}
	}
	if len(paths) != 3 {
		t.Errorf("notified %v, want /one, /two and /slack/T0KEN", paths)
	}
	for _, s := range []string{testenv.SecretA, secret, "T0KEN"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log holds %q", s)
		}
	}
}
