package pgtest

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestWithPostgresScript runs scripts/with-postgres as make test does on a
// machine without a database: the command sees a server, its exit status
// comes back, and the server is gone afterwards.
func TestWithPostgresScript(t *testing.T) {
	cmd := exec.Command("../../scripts/with-postgres", "sh", "-c",
		`psql "$SYNCD_TEST_DATABASE_URL" -Atc 'select 40 + 2' && exit 3`)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvURL+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("exit: %v, want status 3; output:\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^42$`).Match(out) {
		t.Errorf("the command did not reach the server; output:\n%s", out)
	}
	m := regexp.MustCompile(`PostgreSQL on (127\.0\.0\.1:\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no address in the output:\n%s", out)
	}
	if c, err := net.Dial("tcp", string(m[1])); err == nil {
		c.Close()
		t.Errorf("the server at %s still accepts connections after the script ended", m[1])
	}
}

// TestWithPostgresScriptPGBIN: without PGBIN the script finds and exports
// the bin directory BinDir would find, and an explicit PGBIN without initdb is
// an error naming PGBIN rather than a silent fallback to another version.
func TestWithPostgresScriptPGBIN(t *testing.T) {
	env := func(extra ...string) []string {
		var out []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, EnvURL+"=") && !strings.HasPrefix(kv, EnvBin+"=") {
				out = append(out, kv)
			}
		}
		return append(out, extra...)
	}
	t.Run("exported", func(t *testing.T) {
		cmd := exec.Command("../../scripts/with-postgres", "sh", "-c", `echo "PGBIN=$PGBIN"`)
		cmd.Env = env(EnvURL + "=postgres://unused.invalid/x")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("with-postgres: %v\n%s", err, out)
		}
		globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		want := "PGBIN=" + findBinDir("", pgConfigBinDir, globbed, hasInitdb) + "\n"
		if string(out) != want {
			t.Errorf("output %q, want %q", out, want)
		}
	})
	t.Run("explicit without initdb", func(t *testing.T) {
		cmd := exec.Command("../../scripts/with-postgres", "true")
		cmd.Env = env(EnvBin + "=" + t.TempDir())
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("exit: %v, want status 1; output:\n%s", err, out)
		}
		if !strings.Contains(string(out), "PGBIN=") || !strings.Contains(string(out), "no initdb") {
			t.Errorf("the error does not name PGBIN: %s", out)
		}
	})
}
