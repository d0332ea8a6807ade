package reliability

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/bench"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/pgtest"
)

// TestKillApply kills `syncd apply` with SIGKILL at a random moment, runs
// apply again to completion, and checks that nothing was duplicated and
// that the plan is empty.
func TestKillApply(t *testing.T) {
	t.Parallel()
	bin := syncdBinary(t)
	trials := pick(3, 20)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	f := bench.Fleet{Make: 10, Apps: 2, Patchworks: 10}
	for trial := range trials {
		delay := time.Duration(100+rng.IntN(900)) * time.Millisecond
		t.Run(fmt.Sprintf("trial-%02d-after-%s", trial, delay), func(t *testing.T) {
			emu := emulator.New(emulator.Options{Seed: int64(trial), MakeApps: f.AppNames(), Knobs: emulator.Knobs{Latency: 40 * time.Millisecond, DeleteLag: -1}})
			srv := httptest.NewServer(emu)
			t.Cleanup(func() { emu.Close(); srv.Close() })
			dir := t.TempDir()
			if err := f.Write(dir); err != nil {
				t.Fatal(err)
			}
			s := stackEnv{bin: bin, dir: dir, db: pgtest.Database(t), spool: t.TempDir(), url: srv.URL}

			cmd := s.command("apply", "--auto-approve")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				t.Logf("apply finished before the kill (%v)", err)
			case <-time.After(delay):
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-exited
			}
			killedWrites := emu.Counts()

			for attempt := 1; ; attempt++ {
				res, err := s.run("apply", "--auto-approve")
				if err == nil {
					break
				}
				if attempt == 3 {
					t.Fatalf("apply after the kill failed 3 times: %v\n%s", err, res)
				}
			}
			if res, err := s.run("plan", "--detailed-exitcode"); err != nil {
				t.Fatalf("plan after the re-run is not empty (%v):\n%s", err, res)
			}
			byKey, dups := objects(emu)
			if len(dups) > 0 {
				t.Errorf("duplicates: %v", dups)
			}
			if len(byKey) != f.Resources() {
				t.Errorf("%d objects, want %d", len(byKey), f.Resources())
			}
			checkWritesAnnounced(t, auditRows(t, s.db))
			t.Logf("writes before the kill: make %v, patchworks %v", killedWrites.Make.ByMethod, killedWrites.Patchworks.ByMethod)
		})
	}
}

// stackEnv runs the syncd binary against one emulator and database.
type stackEnv struct {
	bin, dir, db, spool, url string
	extraEnv                 []string
}

func (s stackEnv) command(args ...string) *exec.Cmd {
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(cleanEnv(), "SYNCD_MANIFESTS="+s.dir,
		"SYNCD_MAKE_URL="+s.url+"/api/v2", "SYNCD_MAKE_TOKEN="+emulator.DefaultMakeToken,
		"SYNCD_PATCHWORKS_URL="+s.url, "SYNCD_PATCHWORKS_TOKEN="+emulator.DefaultPatchworksToken,
		"SYNCD_DATABASE_URL="+s.db, "SYNCD_SPOOL_DIR="+filepath.Join(s.spool),
		"SYNCD_MAKE_RPM="+strconv.Itoa(600000), "SYNCD_PATCHWORKS_RPM="+strconv.Itoa(600000), "NO_COLOR=1")
	cmd.Env = append(cmd.Env, s.extraEnv...)
	return cmd
}

// run runs a command to completion and returns its combined output; a
// non-zero exit is an error carrying the code.
func (s stackEnv) run(args ...string) (string, error) {
	cmd := s.command(args...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), fmt.Errorf("%v exited %d", args, ee.ExitCode())
	}
	return string(out), err
}
