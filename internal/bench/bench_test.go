package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/internal/watch"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// BenchmarkSyncd runs every scenario once (run it with -benchtime 1x) and
// prints and writes the table. Scenarios are independent: one that fails
// to run becomes a FAIL row and the others still run.
func BenchmarkSyncd(b *testing.B) {
	rep := NewReport("make bench")
	for b.Loop() {
		scenarios := []struct {
			name string
			run  func(b *testing.B, rep *Report) error
		}{
			{"plan at scale", planAtScale},
			{"pacing cost", pacingCost},
			{"server limit", serverLimit},
			{"Make scan share", makeScanShare},
			{"plan CPU/RSS", planProcess},
			{"edit-to-plan", editToPlan},
			{"audit throughput", auditThroughput},
		}
		for _, s := range scenarios {
			if only := os.Getenv("SYNCD_BENCH_ONLY"); only != "" && !strings.Contains(s.name, only) {
				continue
			}
			start := time.Now()
			if err := s.run(b, rep); err != nil {
				rep.Failed(s.name, err)
			}
			b.Logf("%s: %s", s.name, time.Since(start).Round(time.Millisecond))
		}
	}
	b.StopTimer()
	fmt.Println()
	rep.WriteText(os.Stdout)
	root, err := moduleRoot()
	if err != nil {
		b.Fatal(err)
	}
	out := os.Getenv("SYNCD_BENCH_OUT")
	if out == "" {
		out = filepath.Join(root, "bench")
	}
	readme := "" // only make bench keeps the README's table up to date
	if os.Getenv("SYNCD_BENCH_README") != "" {
		readme = filepath.Join(root, "README.md")
	}
	paths, err := rep.WriteFiles(out, readme)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("\nwrote %s\n", strings.Join(paths, ", "))
}

// planAtScale: a plan of 2,000 Make connections and 2,000 Patchworks
// connectors, all existing and matched by natural key, with 20 ms latency.
func planAtScale(b *testing.B, rep *Report) error {
	const sc = "plan at scale (20 ms latency)"
	const latency = 20 * time.Millisecond
	const conc = 8 // the CLI's default --concurrency
	f := Fleet{Make: 2000, Apps: 20, Patchworks: 2000}
	e := testenv.New(b, testenv.Options{Knobs: emulator.Knobs{Latency: latency}, Concurrency: conc})
	wall, counts, p, err := timePlan(b, e, f)
	if err != nil {
		return err
	}
	minMake, minPW := f.MinRequests()
	mk, pw := counts.Make.Total, counts.Patchworks.Total
	rep.Equal(sc, "Make requests", float64(mk), "", float64(minMake), fmt.Sprintf("minimum: %d lists + 3 reads x %d connections", min(f.Apps, f.Make), f.Make))
	rep.Equal(sc, "Patchworks requests", float64(pw), "", float64(minPW), fmt.Sprintf("minimum: ceil(%d/100) pages", f.Patchworks))
	floorMake := time.Duration(mk) * latency / conc
	floorPW := time.Duration(pw) * latency / conc
	floor := max(floorMake, floorPW)
	rep.Info(sc, "floor", floor.Seconds(), "s", fmt.Sprintf("max(Make %d, Patchworks %d) x 20 ms / %d in flight", mk, pw, conc))
	rep.Info(sc, "wall", wall.Seconds(), "s", summary(p))
	rep.AtMost(sc, "wall / floor", wall.Seconds()/floor.Seconds(), "", 1.10, "")
	if wall > floor*11/10 {
		rep.Note("Plan at scale over 1.10 x the floor: the emulator and the clients share this machine's CPUs, so under load each request costs more than its injected latency; the request count is the minimum.")
	}
	rep.Note("Floor of a plan: each platform's requests x injected latency / requests in flight (concurrency %d); the platforms are read in parallel, so the floor is the larger of the two. It ignores the Make list -> detail dependency (one extra round trip) and Patchworks' first page (which gives last_page).", conc)
	return nil
}

// timePlan writes and seeds the fleet and times one Engine.Plan of it.
func timePlan(b *testing.B, e *testenv.Env, f Fleet) (time.Duration, emulator.Counts, *planner.Plan, error) {
	if err := f.Write(e.Dir); err != nil {
		return 0, emulator.Counts{}, nil, err
	}
	if _, err := e.Emu.Seed(f.Seed()); err != nil {
		return 0, emulator.Counts{}, nil, err
	}
	set := e.Load(b)
	if len(set.Errors) > 0 {
		return 0, emulator.Counts{}, nil, fmt.Errorf("manifests: %v", set.Errors[0])
	}
	e.Emu.ResetCounts()
	start := time.Now()
	res, err := e.Engine.Plan(context.Background(), engine.PlanRequest{Set: set, Bindings: map[syncd.Key]syncd.Binding{}})
	wall := time.Since(start)
	if err != nil {
		return 0, emulator.Counts{}, nil, err
	}
	s := res.Plan.Summary
	if s.Create+s.Update+s.Replace+s.Delete > 0 {
		return 0, emulator.Counts{}, nil, fmt.Errorf("the fleet should plan as adopt/noop only: %s", summary(res.Plan))
	}
	return wall, e.Emu.Counts(), res.Plan, nil
}

func summary(p *planner.Plan) string {
	s := p.Summary
	return fmt.Sprintf("plan: %d adopt, %d noop, %d create, %d update", s.Adopt, s.Noop, s.Create, s.Update)
}

// planProcess: CPU time and peak RSS of one `syncd plan` process over
// 10,000 resources at zero latency; the emulator runs in this process. The
// same fleet five times larger, run three times, shows whether the cost per
// resource holds (linear) or grows with the estate.
func planProcess(b *testing.B, rep *Report) error {
	const sc = "syncd plan, 10,000 resources"
	f := Fleet{Make: 5000, Apps: 50, Patchworks: 5000}
	bin, err := syncdBinary(b)
	if err != nil {
		return err
	}
	// Five runs, one after the other; the median CPU is reported with the
	// spread, so that a busy machine shows as such.
	small, err := planRuns(b, bin, f, 5, true)
	if err != nil {
		return err
	}
	med := small.median()
	cpu := med.cpu
	c := small.counts
	rep.Info(sc, "requests", float64(c.Make.Total+c.Patchworks.Total), "", fmt.Sprintf("Make %d, Patchworks %d; wall %.2f s", c.Make.Total, c.Patchworks.Total, med.wall.Seconds()))
	rep.AtMost(sc, "CPU time (user+sys)", cpu.Seconds(), "s", 1.2, fmt.Sprintf("median of 5 runs (%s s; spread %.2f s); user %.2f s, sys %.2f s", small.cpuList(), small.spread().Seconds(), med.user.Seconds(), med.sys.Seconds()))
	rep.AtMost(sc, "peak RSS", float64(small.peak())/1024, "MB", 100, "getrusage ru_maxrss, largest of the 5 runs")

	// How much of that is loading the manifests: the same directory through
	// `syncd validate`, which loads and checks them and makes no request.
	val := exec.Command(bin, "validate", "--manifests", small.dir)
	val.Env = cleanEnv()
	if out, err := val.CombinedOutput(); err != nil {
		return fmt.Errorf("syncd validate: %v: %s", err, out)
	}
	vru, _ := val.ProcessState.SysUsage().(*syscall.Rusage)
	vcpu := time.Duration(vru.Utime.Nano() + vru.Stime.Nano())
	requests := c.Make.Total + c.Patchworks.Total
	perReq := (cpu - vcpu).Seconds() / float64(requests) * 1e6
	rep.Info(sc, "of which loading manifests", vcpu.Seconds(), "s", fmt.Sprintf("CPU of syncd validate on the same directory (%.0f µs per manifest); the rest is %.0f µs per request", vcpu.Seconds()/float64(f.Resources())*1e6, perReq))
	rep.Info(sc, "floor: reading the files alone", small.floorFiles.Seconds(), "s", "CPU of a process that reads each of the 10,000 files (os.ReadFile), nothing else (floor_test.go)")
	rep.Info(sc, "floor: as many bare GETs", small.floorHTTP.Seconds(), "s", fmt.Sprintf("CPU of a process that makes %d GETs of Make connection details with syncd's HTTP client (transport.NewHTTPClient), 16 at a time over reused connections, and reads each body, nothing else", requests))
	rep.Info(sc, "reference: the YAML library decoding the files", small.refYAML.Seconds(), "s", "CPU of a process that reads each file and decodes it into go.yaml.in/yaml/v4 nodes; syncd reads plain block manifests without the library (desired.quickParse, compared node by node with it in tests)")
	rep.Note("The two floors (%.2f s reading the files, %.2f s for the GETs: %.2f s together) are what the plan's input costs on this machine before syncd does anything with it; the plan's CPU above them is %.2f s.",
		small.floorFiles.Seconds(), small.floorHTTP.Seconds(), (small.floorFiles + small.floorHTTP).Seconds(), (cpu - small.floorFiles - small.floorHTTP).Seconds())
	rep.Note("Where the CPU of one plan of 10,000 resources goes (%.2f s, median of 5): %.2f s loading 10,000 manifest files, one per resource (~%.0f µs each: open/fstat/read through the confined root, YAML parsing into position-carrying nodes, decoding into specs, and GC), "+
		"and %.0f µs of client CPU per request for %d requests (Make needs a list per app and 3 reads per connection, the minimum): HTTP/1.1 over loopback (transport.wire, connections reused), JSON decoding, and the GC that both pay for.",
		cpu.Seconds(), vcpu.Seconds(), vcpu.Seconds()/float64(f.Resources())*1e6, perReq, requests)

	// Linear to 50,000: CPU and RSS per resource within ±20% of the figures
	// above. Three runs: each costs five times one of the above.
	const lsc = "syncd plan, linear to 50,000 resources"
	big := Fleet{Make: 25000, Apps: 250, Patchworks: 25000}
	large, err := planRuns(b, bin, big, 3, false)
	if err != nil {
		return fmt.Errorf("50,000 resources: %w", err)
	}
	lmed := large.median()
	perRes := func(d time.Duration, n int) float64 { return d.Seconds() / float64(n) * 1e6 }
	cpuSmall, cpuLarge := perRes(cpu, f.Resources()), perRes(lmed.cpu, big.Resources())
	rssSmall := float64(small.peak()) / float64(f.Resources())   // KB per resource
	rssLarge := float64(large.peak()) / float64(big.Resources()) // KB per resource
	lc := large.counts
	rep.Info(lsc, "CPU per resource", cpuLarge, "µs", fmt.Sprintf("median of 3 runs (%s s) over 50,000 resources, %d requests; %.0f µs at 10,000", large.cpuList(), lc.Make.Total+lc.Patchworks.Total, cpuSmall))
	rep.Within(lsc, "CPU per resource / at 10,000", cpuLarge/cpuSmall, "", 0.8, 1.2, "")
	rep.Info(lsc, "peak RSS per resource", rssLarge, "KB", fmt.Sprintf("largest ru_maxrss of 3 runs %.0f MB / 50,000; %.1f KB at 10,000", float64(large.peak())/1024, rssSmall))
	rep.Within(lsc, "RSS per resource / at 10,000", rssLarge/rssSmall, "", 0.8, 1.2, "peak RSS includes the process's fixed part (runtime, binary), which weighs more at 10,000")
	return nil
}

// planUsage is the rusage of one `syncd plan` process.
type planUsage struct {
	cpu, user, sys, wall time.Duration
	maxrss               int64 // KB
}

// planSeries is several runs of `syncd plan` over one fleet.
type planSeries struct {
	dir    string
	runs   []planUsage // sorted by CPU
	counts emulator.Counts
	// The floors over the same files and server, and the YAML library's
	// cost for reference (see floor_test.go).
	floorFiles, floorHTTP, refYAML time.Duration
}

func (s planSeries) median() planUsage     { return s.runs[len(s.runs)/2] }
func (s planSeries) spread() time.Duration { return s.runs[len(s.runs)-1].cpu - s.runs[0].cpu }

func (s planSeries) peak() int64 {
	var p int64
	for _, r := range s.runs {
		p = max(p, r.maxrss)
	}
	return p
}

func (s planSeries) cpuList() string {
	var cpus []string
	for _, r := range s.runs {
		cpus = append(cpus, fmt.Sprintf("%.2f", r.cpu.Seconds()))
	}
	return strings.Join(cpus, ", ")
}

// planRuns writes f, serves it from an in-process emulator at zero latency
// and runs `syncd plan` over it n times, one after the other; with floors,
// it then measures the floors over the same files and server.
func planRuns(b *testing.B, bin string, f Fleet, n int, floors bool) (planSeries, error) {
	emu := emulator.New(emulator.Options{Seed: 1})
	srv := httptest.NewServer(emu)
	defer func() { emu.Close(); srv.Close() }()
	s := planSeries{dir: b.TempDir()}
	if err := f.Write(s.dir); err != nil {
		return s, err
	}
	if _, err := emu.Seed(f.Seed()); err != nil {
		return s, err
	}
	for range n {
		out, err := os.Create(filepath.Join(b.TempDir(), "plan.json"))
		if err != nil {
			return s, err
		}
		var stderr strings.Builder
		cmd := exec.Command(bin, "plan", "--manifests", s.dir, "--format", "json",
			"--make-url", srv.URL+"/api/v2", "--patchworks-url", srv.URL,
			"--make-rpm", "600000000", "--patchworks-rpm", "600000000", "--concurrency", "16")
		cmd.Env = append(cleanEnv(), "SYNCD_MAKE_TOKEN="+emulator.DefaultMakeToken, "SYNCD_PATCHWORKS_TOKEN="+emulator.DefaultPatchworksToken)
		cmd.Stdout, cmd.Stderr = out, &stderr
		emu.ResetCounts()
		start := time.Now()
		err = cmd.Run()
		out.Close()
		if err != nil {
			return s, fmt.Errorf("syncd plan: %v: %s", err, stderr.String())
		}
		wall := time.Since(start)
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			return s, fmt.Errorf("no rusage on this platform")
		}
		user, sys := time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
		s.runs = append(s.runs, planUsage{cpu: user + sys, user: user, sys: sys, wall: wall, maxrss: ru.Maxrss})
		s.counts = emu.Counts()
	}
	slices.SortFunc(s.runs, func(a, b planUsage) int { return int(a.cpu - b.cpu) })
	if floors {
		var err error
		if s.floorFiles, err = floorCPU(floorEnv+"=files", floorEnv+"_DIR="+s.dir); err != nil {
			return s, err
		}
		if s.refYAML, err = floorCPU(floorEnv+"=yaml", floorEnv+"_DIR="+s.dir); err != nil {
			return s, err
		}
		requests := s.counts.Make.Total + s.counts.Patchworks.Total
		s.floorHTTP, err = floorCPU(floorEnv+"=http", floorEnv+"_URL="+srv.URL,
			floorEnv+"_APPS="+strings.Join(f.AppNames(), ","), floorEnv+"_N="+strconv.Itoa(requests))
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// editToPlan: the daemon over 5,000 manifests; one edited manifest is
// timed until its change_planned row exists.
func editToPlan(b *testing.B, rep *Report) error {
	const sc = "daemon edit-to-plan, 5,000 manifests"
	f := Fleet{Make: 2500, Apps: 25, Patchworks: 2500}
	e := testenv.New(b, testenv.Options{Concurrency: 16})
	e.Runner.Logger = benchLogger()
	if err := f.Write(e.Dir); err != nil {
		return err
	}
	if _, err := e.Emu.Seed(f.Seed()); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrCh := make(chan string, 1)
	settled := &settleClock{}
	d, err := daemon.New(daemon.Options{
		ManifestsDir: e.Dir, Mode: syncd.ModeReport, Listen: "127.0.0.1:0",
		Runner: e.Runner, Store: e.Store, Getenv: e.Getenv,
		Ready: func(a string) { addrCh <- a }, Logger: benchLogger(),
		Watch: watch.Options{Logger: slog.New(settled)},
	})
	if err != nil {
		cancel()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var addr string
	select {
	case addr = <-addrCh:
	case err := <-done:
		return fmt.Errorf("daemon stopped: %v", err)
	}
	startup := time.Now()
	if err := testenv.WaitReady(addr, 5*time.Minute); err != nil {
		return err
	}
	rep.Info(sc, "startup full scan", time.Since(startup).Seconds(), "s", "until /readyz")
	conn, err := pgx.Connect(context.Background(), e.DB)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	// Three edits of three connections, one after the other: the median
	// latency is reported, since this machine is shared.
	var latencies, settles, starts []time.Duration
	var reqs []emulator.Counts
	for _, target := range []int{7, 1207, 2407} {
		t, c, err := editOnce(conn, e, f, target, settled)
		if err != nil {
			return err
		}
		latencies, reqs = append(latencies, t.row), append(reqs, c)
		settles, starts = append(settles, t.settled), append(starts, t.started)
	}
	median := func(ds []time.Duration) time.Duration {
		order := slices.Clone(ds)
		slices.Sort(order)
		return order[len(order)/2]
	}
	var all []string
	for _, l := range latencies {
		all = append(all, fmt.Sprintf("%.2f", l.Seconds()))
	}
	rep.AtMost(sc, "edit -> change_planned row", median(latencies).Seconds(), "s", 0.25, fmt.Sprintf(
		"median of 3 edits (%s s); medians from the write: watcher's change settled %.3f s (its quiet period is %s), run started %.3f s; "+
			"the daemon reads only the edited file again (desired.Reload)",
		strings.Join(all, ", "), median(settles).Seconds(), watch.DefaultQuiet, median(starts).Seconds()))
	worstMake, worstPW := 0, 0
	for _, c := range reqs {
		worstMake, worstPW = max(worstMake, c.Make.Total), max(worstPW, c.Patchworks.Total)
	}
	rep.Equal(sc, "Make requests caused", float64(worstMake), "", 4, fmt.Sprintf("most of the 3 edits; its app's list + 2 sections + common: %s", routes(reqs[0].Make)))
	rep.Equal(sc, "Patchworks requests caused", float64(worstPW), "", 0, "")
	return nil
}

// editTimes are the moments of one edit, counted from the write: the
// watcher's change settled, the run started, the change_planned row exists.
type editTimes struct{ settled, started, row time.Duration }

// settleClock is a slog handler for the daemon's watcher that notes when
// its last change settled.
type settleClock struct {
	mu   sync.Mutex
	last time.Time
}

func (s *settleClock) Enabled(context.Context, slog.Level) bool { return true }
func (s *settleClock) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *settleClock) WithGroup(string) slog.Handler            { return s }
func (s *settleClock) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "change settled" {
		s.mu.Lock()
		s.last = time.Now()
		s.mu.Unlock()
	}
	return nil
}

func (s *settleClock) since(start time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last.Sub(start)
}

// editOnce edits one Make connection's manifest and returns the times until
// its change_planned row exists and the requests the run made.
func editOnce(conn *pgx.Conn, e *testenv.Env, f Fleet, target int, settled *settleClock) (editTimes, emulator.Counts, error) {
	ctx := context.Background()
	name := MakeName(target)
	// The startup scan already planned every resource (adopts, in report
	// mode): only rows after this id count.
	var lastID int64
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM audit_events").Scan(&lastID); err != nil {
		return editTimes{}, emulator.Counts{}, err
	}
	e.Emu.ResetCounts()
	start := time.Now()
	if err := os.WriteFile(filepath.Join(e.Dir, MakeFile(target)), []byte(f.MakeManifest(target, 2)), 0o644); err != nil {
		return editTimes{}, emulator.Counts{}, err
	}
	var runID string
	for {
		err := conn.QueryRow(ctx,
			"SELECT run_id FROM audit_events WHERE id > $1 AND event_type = 'change_planned' AND resource_name = $2 LIMIT 1", lastID, name).Scan(&runID)
		if err == nil {
			break
		}
		if err != pgx.ErrNoRows {
			return editTimes{}, emulator.Counts{}, err
		}
		if time.Since(start) > time.Minute {
			return editTimes{}, emulator.Counts{}, fmt.Errorf("no change_planned row for %s after a minute", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t := editTimes{row: time.Since(start), settled: settled.since(start)}
	var startedAt time.Time
	if err := conn.QueryRow(ctx, "SELECT started_at FROM runs WHERE id = $1", runID).Scan(&startedAt); err != nil {
		return editTimes{}, emulator.Counts{}, err
	}
	t.started = startedAt.Sub(start)
	// The run's own requests are all made before its change_planned rows;
	// wait for its end so that late ones would be counted too.
	for {
		var n int
		if err := conn.QueryRow(ctx,
			"SELECT count(*) FROM audit_events WHERE event_type = 'run_finished' AND run_id = $1", runID).Scan(&n); err != nil {
			return editTimes{}, emulator.Counts{}, err
		}
		if n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return t, e.Emu.Counts(), nil
}

func routes(pc emulator.PlatformCounts) string {
	var parts []string
	for r, n := range pc.ByRoute {
		parts = append(parts, fmt.Sprintf("%s x%d", r, n))
	}
	if len(parts) == 0 {
		return "none"
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// auditThroughput runs internal/audit's own benchmarks (BenchmarkRecorder
// and BenchmarkRawCopy, one transaction per batch of events) as seven
// pairs, one right after the other, the first of each pair alternating,
// and reads their events/s metrics. The ratio is the median of the pairs'
// ratios: on a shared machine whose speed drifts, the two of a pair see
// nearly the same machine, where the best of runs apart may not.
func auditThroughput(b *testing.B, rep *Report) error {
	const sc = "audit throughput"
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	run := func(name string) (float64, error) {
		cmd := exec.Command("go", "test", "-count=1", "-run", "^$", "-bench", "^"+name+"$", "-benchtime", "2s", "./internal/audit")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("go test -bench %s ./internal/audit: %v: %s", name, err, out)
		}
		rates, err := eventRates(string(out))
		if err != nil {
			return 0, err
		}
		if rates[name] == 0 {
			return 0, fmt.Errorf("no events/s metric in %s's output: %s", name, out)
		}
		return rates[name], nil
	}
	const pairs = 7
	var rec, raw, ratio []float64
	for i := range pairs {
		order := []string{"BenchmarkRecorder", "BenchmarkRawCopy"}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		got := map[string]float64{}
		for _, name := range order {
			if got[name], err = run(name); err != nil {
				return err
			}
		}
		r, w := got["BenchmarkRecorder"], got["BenchmarkRawCopy"]
		rec, raw, ratio = append(rec, r), append(raw, w), append(ratio, r/w)
	}
	var shown []string
	for _, x := range ratio {
		shown = append(shown, fmt.Sprintf("%.2f", x))
	}
	rep.AtLeast(sc, "recorder (BenchmarkRecorder)", median(rec), "events/s", 20_000, "median of 7 runs; Record: validated, hash-chained, idempotency keys checked, one transaction per batch, its rows streamed to COPY in binary as they are hashed")
	rep.Info(sc, "raw COPY (BenchmarkRawCopy)", median(raw), "events/s", "median of 7 runs, each next to one of the recorder's; the same rows by pgx CopyFrom (hashes precomputed), one transaction per batch")
	rep.AtLeast(sc, "recorder / raw COPY", median(ratio), "", 0.8, "median of the 7 pairs' ratios ("+strings.Join(shown, ", ")+"); the first of a pair alternates")
	return nil
}

// eventRates reads the events/s metric of each benchmark in out.
func eventRates(out string) (map[string]float64, error) {
	rates := map[string]float64{}
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		for i := 1; i < len(fields); i++ {
			if fields[i] == "events/s" && strings.HasPrefix(fields[0], "Benchmark") {
				name, _, _ := strings.Cut(fields[0], "-")
				v, err := strconv.ParseFloat(fields[i-1], 64)
				if err != nil {
					return nil, fmt.Errorf("%s: %q is not a number", name, fields[i-1])
				}
				rates[name] = v
			}
		}
	}
	return rates, nil
}

// syncdBinary is SYNCD_BIN when set (make bench builds it), else a fresh build.
func syncdBinary(b testing.TB) (string, error) {
	if p := os.Getenv("SYNCD_BIN"); p != "" {
		return filepath.Abs(p)
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(b.TempDir(), "syncd")
	// As make build and the container image build it.
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/syncd")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
}

// cleanEnv is the environment without syncd's own variables, so that the
// developer's settings do not leak into a measured process.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SYNCD_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func benchLogger() *slog.Logger {
	if os.Getenv("SYNCD_BENCH_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
