package pgtest

import (
	"errors"
	"net"
	"os"
	"os/exec"
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
