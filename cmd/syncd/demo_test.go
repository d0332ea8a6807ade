package main

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/pgtest"
)

// demoEnv is the environment for scripts/demo: this one without the test
// database, so that the demo starts (and removes) its own.
func demoEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, pgtest.EnvURL+"=") && !strings.HasPrefix(kv, "SYNCD_") && !strings.HasPrefix(kv, "MAKEFLAGS=") && !strings.HasPrefix(kv, "MAKELEVEL=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// freeAddr returns a loopback address nobody listens on (just now).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestDemoNamesTheSettingOfABusyPort: a taken port is named with the
// variable that moves it, before anything is built or started.
func TestDemoNamesTheSettingOfABusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().String()
	for _, tt := range []struct {
		env  []string
		want string
	}{
		{[]string{"SYNCD_DEMO_LISTEN=" + busy, "SYNCD_DEMO_EMULATOR=" + freeAddr(t)}, "set SYNCD_DEMO_LISTEN"},
		{[]string{"SYNCD_DEMO_LISTEN=" + freeAddr(t), "SYNCD_DEMO_EMULATOR=" + busy}, "set SYNCD_DEMO_EMULATOR"},
	} {
		cmd := exec.Command("bash", "../../scripts/demo")
		cmd.Env = demoEnv(tt.env...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), busy) || !strings.Contains(string(out), tt.want) {
			t.Errorf("%v: %v\n%s", tt.env, err, out)
		}
		if strings.Contains(string(out), "building") {
			t.Errorf("%v: built before checking the port:\n%s", tt.env, out)
		}
	}
}

// TestDemoCtrlC runs `make demo` as a user does, presses Ctrl-C (SIGINT to
// the foreground process group) once the daemon answers, and expects a
// quiet exit (no "make: *** ... Error 130"); then a read-only command
// against the stopped database says it is unreachable, not "spool".
func TestDemoCtrlC(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not installed")
	}
	listen, emu := freeAddr(t), freeAddr(t)
	cmd := exec.Command("make", "-C", "../..", "--no-print-directory", "demo")
	cmd.Env = demoEnv("SYNCD_DEMO_LISTEN="+listen, "SYNCD_DEMO_EMULATOR="+emu)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		resp, err := http.Get("http://" + listen + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("the demo ended before its daemon answered: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("the demo's daemon did not answer on %s:\n%s", listen, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	env := demoSettings(t)

	// A second terminal, as README's three uses show it: the demo's binary
	// says which commit it is, and `run --once` works next to the daemon
	// (it does not share the daemon's spool).
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"version"}, "commit " + headCommit(t)},
		{[]string{"run", "--once", "--detailed-exitcode"}, "No changes."},
	} {
		c := exec.Command(filepath.Join("bin", "syncd"), tt.args...)
		c.Dir = filepath.Join("..", "..")
		c.Env = demoEnv()
		for k, v := range env {
			c.Env = append(c.Env, k+"="+v)
		}
		got, err := c.CombinedOutput()
		if err != nil || !strings.Contains(string(got), tt.want) {
			t.Errorf("bin/syncd %v next to the running demo: %v, want %q in\n%s", tt.args, err, tt.want, got)
		}
	}

	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("the demo did not stop on Ctrl-C:\n%s", out.String())
	}
	if strings.Contains(out.String(), "***") || strings.Contains(out.String(), "status ") {
		t.Errorf("Ctrl-C reported as a failure:\n%s", out.String())
	}

	// The database is gone with the demo: a read-only command says so.
	for _, args := range [][]string{{"drift"}, {"audit"}, {"audit", "verify"}} {
		r := syncdCmd(t, nil, env, args...)
		if r.code != 1 || !strings.Contains(r.stderr, "unreachable") || strings.Contains(r.stderr, "spool") {
			t.Errorf("%v against the stopped demo database: exit %d\n%s", args, r.code, r.stderr)
		}
	}
}

// demoSettings reads the variables the demo wrote to .syncd/demo.env.
func demoSettings(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	f, err := os.Open(filepath.Join("..", "..", ".syncd", "demo.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = strings.Trim(v, "'")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}

// headCommit is the commit the repository is at, as the demo's build
// should stamp it.
func headCommit(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "-C", filepath.Join("..", ".."), "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	return strings.TrimSpace(string(out))
}
