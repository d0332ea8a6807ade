package main

import (
	"bytes"
	"encoding/json"
	"github.com/syncd/syncd/internal/executor"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// TestProgressReport: on a terminal the line is redrawn in place and
// cleared when paused or stopped; otherwise each report is a log line.
func TestProgressReport(t *testing.T) {
	var mk, pw int64 = 2, 0
	stats := func() []platform.Stats {
		return []platform.Stats{{Platform: "make", ByStatus: map[int]int64{200: mk}}, {Platform: "patchworks", ByStatus: map[int]int64{200: pw}}}
	}
	var tty bytes.Buffer
	p := newProgress(&tty, true, stats, map[string]int{"make": 10}, "planning")
	mk, pw = 5, 1
	p.tick()
	if want := "\r\033[Kplanning · make 3 requests, about 7 left · patchworks 1 requests"; tty.String() != want {
		t.Errorf("terminal line %q, want %q", tty.String(), want)
	}
	tty.Reset()
	p.setPhase("", nil)
	p.tick()
	if tty.String() != "\r\033[K" {
		t.Errorf("paused: %q, want the line cleared and nothing drawn", tty.String())
	}
	tty.Reset()
	p.applying(2)
	p.changeDone(executor.Result{})
	mk = 9
	p.tick()
	if want := "\r\033[Kapplying 2 change(s), 1 done · make 4 requests · patchworks 0 requests"; tty.String() != want {
		t.Errorf("after setPhase %q, want %q", tty.String(), want)
	}
	close(p.done) // no loop was started
	tty.Reset()
	p.Stop()
	if tty.String() != "\r\033[K" {
		t.Errorf("Stop wrote %q, want the line cleared", tty.String())
	}

	// With the pacer's estimate: the time the requests left take.
	var paced bytes.Buffer
	p = newProgress(&paced, false, stats, map[string]int{"make": 15}, "planning")
	p.eta = map[string]func(int) time.Duration{"make": func(n int) time.Duration { return time.Duration(n) * 2 * time.Second }}
	mk = 12 // 3 done, 12 left
	p.tick()
	if want := "syncd: progress: planning · make 3 requests, about 12 left (~24s at the current pace) · patchworks 0 requests\n"; paced.String() != want {
		t.Errorf("paced line %q, want %q", paced.String(), want)
	}
	mk = 9

	var log bytes.Buffer
	p = newProgress(&log, false, stats, nil, "importing")
	mk = 12
	p.tick()
	if want := "syncd: progress: importing · make 3 requests · patchworks 0 requests\n"; log.String() != want {
		t.Errorf("log line %q, want %q", log.String(), want)
	}
}

// TestPlanEstimateMatchesRequests: the "left" of a plan's progress is
// what the plan really requests from the emulator.
func TestPlanEstimateMatchesRequests(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "b.yaml", testenv.MakeDoc("conn-b", "app-one", "Conn B", "basic"))
	e.Write(t, "c.yaml", testenv.MakeDoc("conn-c", "app-two", "Conn C", "basic"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	if r := syncdCmd(t, e, nil, "apply", "--auto-approve", "--quiet"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	set, err := desired.Load(e.Dir, desired.Options{Getenv: e.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	for _, scope := range [][]syncd.Key{nil, {{Kind: syncd.MakeConnection, Name: "conn-a"}}} {
		args := []string{"plan", "--quiet"}
		for _, k := range scope {
			args = append(args, "--target", k.String())
		}
		e.Emu.ResetCounts()
		if r := syncdCmd(t, e, nil, args...); r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		c := e.Emu.Counts()
		got := map[string]int{"make": c.Make.Total}
		if c.Patchworks.Total > 1 { // a partial plan of Make only still preflights Patchworks
			got["patchworks"] = c.Patchworks.Total
		}
		if diff := cmp.Diff(got, planEstimate(set, scope)); diff != "" {
			t.Errorf("scope %v: estimate (-real +estimated):\n%s", scope, diff)
		}
	}
}

// TestProgressOnStderrOnly: without a terminal, plan reports progress as
// log lines on stderr (here every millisecond, against a slow emulator);
// stdout stays the plan alone, and --quiet turns the report off.
func TestProgressOnStderrOnly(t *testing.T) {
	e := testenv.New(t, testenv.Options{Knobs: emulator.Knobs{Latency: 30 * time.Millisecond}})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	fast := map[string]string{"SYNCD_PROGRESS_INTERVAL": "1ms"}
	r := syncdCmd(t, e, fast, "plan", "--format", "json")
	if !strings.Contains(r.stderr, "syncd: progress: planning · make ") || !strings.Contains(r.stderr, "left") {
		t.Errorf("no progress on stderr:\n%s", r.stderr)
	}
	var js map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || strings.Contains(r.stdout, "progress") {
		t.Errorf("stdout is not the plan alone (%v):\n%s", err, r.stdout)
	}
	r = syncdCmd(t, e, fast, "plan", "--format", "json", "--quiet")
	if strings.Contains(r.stderr, "progress") {
		t.Errorf("--quiet still reports progress:\n%s", r.stderr)
	}
	r = syncdCmd(t, e, fast, "apply", "--auto-approve")
	if r.code != 0 || !strings.Contains(r.stderr, "syncd: progress: planning") || !regexp.MustCompile(`syncd: progress: applying 2 change\(s\), [0-2] done · make `).MatchString(r.stderr) ||
		strings.Contains(r.stdout, "progress") {
		t.Errorf("apply progress: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = syncdCmd(t, e, fast, "import", "--kind", "PatchworksConnector", "--out", t.TempDir())
	if r.code != 0 || !strings.Contains(r.stderr, "syncd: progress: importing · patchworks ") {
		t.Errorf("import progress: exit %d\n%s", r.code, r.stderr)
	}
}
