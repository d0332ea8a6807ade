package bench

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/emulator"
)

func TestZZProf(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("XN"))
	if n == 0 {
		t.Skip()
	}
	f := Fleet{Make: n / 2, Apps: 50, Patchworks: n / 2}
	emu := emulator.New(emulator.Options{Seed: 1})
	srv := httptest.NewServer(emu)
	defer func() { emu.Close(); srv.Close() }()
	dir := fmt.Sprintf("/tmp/fleet%d", n)
	os.RemoveAll(dir)
	if err := f.Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.Seed(f.Seed()); err != nil {
		t.Fatal(err)
	}
	bin := os.Getenv("SYNCD_BIN")
	for i := 0; i < 3; i++ {
		for _, mode := range []string{"validate", "plan"} {
			args := []string{"validate", "--manifests", dir}
			if mode == "plan" {
				args = []string{"plan", "--manifests", dir, "--format", "json",
					"--make-url", srv.URL + "/api/v2", "--patchworks-url", srv.URL,
					"--make-rpm", "600000000", "--patchworks-rpm", "600000000", "--concurrency", "16"}
			}
			cmd := exec.Command(bin, args...)
			env := append(cleanEnv(), "SYNCD_MAKE_TOKEN="+emulator.DefaultMakeToken, "SYNCD_PATCHWORKS_TOKEN="+emulator.DefaultPatchworksToken)
			if i == 0 && os.Getenv("XPROFDIR") != "" {
				env = append(env, "XPROF="+os.Getenv("XPROFDIR")+"/"+mode+".cpu", "XMEMPROF="+os.Getenv("XPROFDIR")+"/"+mode+".mem")
			}
			if x := os.Getenv("XENV"); x != "" {
				env = append(env, strings.Fields(x)...)
			}
			cmd.Env = env
			out, _ := os.Create("/tmp/zzout.json")
			cmd.Stdout = out
			cmd.Stderr = os.Stderr
			start := time.Now()
			err := cmd.Run()
			out.Close()
			if err != nil && mode == "plan" {
				t.Fatal(err)
			}
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			t.Logf("%s: cpu %.2f (u %.2f s %.2f) rss %d MB wall %v", mode, float64(ru.Utime.Nano()+ru.Stime.Nano())/1e9, float64(ru.Utime.Nano())/1e9, float64(ru.Stime.Nano())/1e9, ru.Maxrss/1024, time.Since(start).Round(time.Millisecond))
		}
	}
}
