package reliability

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
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

// TestKillApply kills `syncd apply` with SIGKILL in the middle of its
// writes (after a number of platform writes drawn from a seeded source:
// SYNCD_KILL_SEED, default 1, so a failing trial can be replayed), runs
// apply again to completion, and checks that nothing was duplicated and
// that the plan is empty. Most trials must really have been killed
// mid-apply, or the test proves nothing.
func TestKillApply(t *testing.T) {
	t.Parallel()
	bin := syncdBinary(t)
	trials := pick(3, 20)
	seed := uint64(1)
	if v := os.Getenv("SYNCD_KILL_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SYNCD_KILL_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (set SYNCD_KILL_SEED to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	f := bench.Fleet{Make: 10, Apps: 2, Patchworks: 10}
	// A full apply of the fleet sends well over 30 writes (a create per
	// object, plus section and common writes per Make connection).
	const minWrites = 30
	midApply := 0
	for trial := range trials {
		after := 1 + rng.IntN(minWrites-1)
		t.Run(fmt.Sprintf("trial-%02d-after-%d-writes", trial, after), func(t *testing.T) {
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
			killed := false
			deadline := time.Now().Add(2 * time.Minute)
		wait:
			for {
				select {
				case err := <-exited:
					t.Logf("apply finished before %d writes (%v)", after, err)
					break wait
				default:
				}
				if writes(emu.Counts()) >= after {
					_ = cmd.Process.Signal(syscall.SIGKILL)
					err := <-exited
					var ee *exec.ExitError
					killed = errors.As(err, &ee) && ee.ProcessState.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("apply sent %d of %d writes within 2 minutes:\n%s", writes(emu.Counts()), after, out.String())
				}
				time.Sleep(5 * time.Millisecond) // polling the emulator's counters
			}
			killedWrites := emu.Counts()
			if killed {
				midApply++
			}

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
			if total := writes(emu.Counts()); killed && total <= writes(killedWrites) {
				t.Errorf("the re-run wrote nothing after a kill at %d writes: the kill was not mid-apply", writes(killedWrites))
			}
			checkWritesAnnounced(t, auditRows(t, s.db))
			t.Logf("writes before the kill: make %v, patchworks %v", killedWrites.Make.ByMethod, killedWrites.Patchworks.ByMethod)
		})
	}
	if want := max(1, trials*2/3); midApply < want {
		t.Errorf("%d of %d trials killed apply mid-apply, want at least %d", midApply, trials, want)
	}
}

// writes counts the non-GET requests the emulator answered.
func writes(c emulator.Counts) int {
	n := 0
	for _, pc := range []emulator.PlatformCounts{c.Make, c.Patchworks} {
		for method, k := range pc.ByMethod {
			if method != "GET" {
				n += k
			}
		}
	}
	return n
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
