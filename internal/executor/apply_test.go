package executor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"sync/atomic"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/executor"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/stack"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// scenario writes two Make connections and two Patchworks connectors.
func scenario(t *testing.T, e *testenv.Env) {
	e.Write(t, "make/a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "make/b.yaml", testenv.MakeDoc("conn-b", "app-one", "Conn B", "oauth"))
	e.Write(t, "pw/x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	e.Write(t, "pw/y.yaml", testenv.PatchworksDoc("pw-y", "Shop Y"))
}

// converge applies until the plan is empty, at most rounds times.
func converge(t *testing.T, e *testenv.Env, rounds int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < rounds; i++ {
		res, err := e.Reconcile(t, ctx, syncd.ModeApply, false)
		if err == nil && !res.Plan.HasChanges() {
			return
		}
	}
	p := e.Plan(t, false)
	if p.HasChanges() {
		var b strings.Builder
		planner.WriteText(&b, p, false)
		t.Fatalf("did not converge in %d rounds:\n%s", rounds, b.String())
	}
}

// countObjects counts live objects by natural key and fails on duplicates.
func countObjects(t *testing.T, emu *emulator.Server) (makeN, pwN int) {
	t.Helper()
	seen := map[string]int{}
	for _, c := range emu.MakeConnections("app-one") {
		seen["make:"+c.App+"/"+c.Label]++
		makeN++
	}
	for _, c := range emu.Connectors() {
		seen[fmt.Sprint("pw:", c.Attributes["name"])]++
		pwN++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("duplicate object %s: %d copies", k, n)
		}
	}
	return makeN, pwN
}

func TestApplyConvergesAndSecondPlanIsEmpty(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	scenario(t, e)
	res, err := e.Reconcile(t, context.Background(), syncd.ModeApply, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Applied != 4 || res.Report.Failed != 0 {
		t.Fatalf("report = %+v", res.Report)
	}
	if p := e.Plan(t, false); p.HasChanges() {
		t.Fatalf("second plan has changes: %+v", p.Summary)
	}
	if m, p := countObjects(t, e.Emu); m != 2 || p != 2 {
		t.Fatalf("objects: make %d, patchworks %d", m, p)
	}
	// The secret reached the platform, and never the audit.
	c := e.Emu.MakeConnections("app-one")[0]
	if c.Common["clientSecret"] != testenv.SecretA {
		t.Errorf("common not written: %v", c.Common)
	}
	assertNoSecretInDB(t, e)
}

// crashTransport lets `budget` write requests through, then "crashes":
// the request that exhausts the budget is sent but its answer is lost, and
// every later request fails without being sent.
type crashTransport struct {
	inner  http.RoundTripper
	budget atomic.Int64
	dead   atomic.Bool
}

var errCrashed = errors.New("process crashed")

func (c *crashTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.dead.Load() {
		return nil, errCrashed
	}
	if r.Method == http.MethodGet {
		return c.inner.RoundTrip(r)
	}
	if c.budget.Add(-1) < 0 {
		c.dead.Store(true)
		return nil, errCrashed
	}
	resp, err := c.inner.RoundTrip(r)
	if c.budget.Load() == 0 {
		c.dead.Store(true)
		if resp != nil {
			resp.Body.Close()
		}
		return nil, errCrashed
	}
	return resp, err
}

// deadStore wraps the audit side so that nothing is recorded after the crash.
type deadStore struct {
	ct *crashTransport
	executor.Recorder
	executor.Inventory
	executor.Journal
}

func (d deadStore) Record(ctx context.Context, ev ...syncd.Event) error {
	if d.ct.dead.Load() {
		return errCrashed
	}
	return d.Recorder.Record(ctx, ev...)
}
func (d deadStore) Bind(ctx context.Context, b syncd.Binding) error {
	if d.ct.dead.Load() {
		return errCrashed
	}
	return d.Inventory.Bind(ctx, b)
}
func (d deadStore) Unbind(ctx context.Context, k syncd.Key) error {
	if d.ct.dead.Load() {
		return errCrashed
	}
	return d.Inventory.Unbind(ctx, k)
}
func (d deadStore) FinishIntent(ctx context.Context, id int64, state, remoteID, errText string) error {
	if d.ct.dead.Load() {
		return errCrashed
	}
	return d.Journal.FinishIntent(ctx, id, state, remoteID, errText)
}

// writesOfCleanApply counts the write requests a crash-free apply of the
// scenario makes.
func writesOfCleanApply(t *testing.T) int {
	e := testenv.New(t, testenv.Options{})
	scenario(t, e)
	before := e.Emu.Counts()
	if _, err := e.Reconcile(t, context.Background(), syncd.ModeApply, false); err != nil {
		t.Fatal(err)
	}
	after := e.Emu.Counts()
	n := 0
	for _, pc := range [][2]emulator.PlatformCounts{{before.Make, after.Make}, {before.Patchworks, after.Patchworks}} {
		for m, c := range pc[1].ByMethod {
			if m != http.MethodGet {
				n += c - pc[0].ByMethod[m]
			}
		}
	}
	return n
}

// TestCrashAtEveryWriteNeverDuplicates kills the apply after each write
// request in turn (the request is carried out, its answer and everything
// after it is lost), restarts, and checks that the result converges with
// exactly one object per manifest.
func TestCrashAtEveryWriteNeverDuplicates(t *testing.T) {
	total := writesOfCleanApply(t)
	if total < 8 {
		t.Fatalf("clean apply made only %d writes", total)
	}
	for k := 1; k <= total; k++ {
		t.Run(fmt.Sprintf("crash-after-write-%d", k), func(t *testing.T) {
			e := testenv.New(t, testenv.Options{})
			scenario(t, e)
			ct := &crashTransport{inner: http.DefaultTransport}
			ct.budget.Store(int64(k))
			cfg := e.Config
			cfg.HTTPClient = &http.Client{Transport: ct}
			cfg.Retry.MaxAttempts = 1
			providers, err := engine.Providers(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ds := deadStore{ct: ct, Recorder: e.Store, Inventory: e.State, Journal: e.State}
			crashing := &executor.Executor{Providers: providers, Rules: registry.Rules(), Recorder: ds, Inventory: ds, Journal: ds, Hasher: e.Hasher, Concurrency: 2}
			plan := e.Plan(t, false)
			desired := map[syncd.Key]*syncd.Desired{}
			for _, d := range e.Load(t).Resources {
				desired[d.Key] = d
			}
			crashing.Apply(context.Background(), syncd.Run{ID: "crashed", Mode: syncd.ModeApply}, plan, desired)

			converge(t, e, 4)
			if m, p := countObjects(t, e.Emu); m != 2 || p != 2 {
				t.Fatalf("after crash at write %d: make %d, patchworks %d objects", k, m, p)
			}
		})
	}
}

// TestCancelMidApplyThenConverge cancels the context while writes are in
// flight (SIGTERM in the CLI), then re-runs.
func TestCancelMidApplyThenConverge(t *testing.T) {
	for _, delay := range []time.Duration{5 * time.Millisecond, 30 * time.Millisecond, 80 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			e := testenv.New(t, testenv.Options{Knobs: emulator.Knobs{Latency: 10 * time.Millisecond}})
			scenario(t, e)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(delay, cancel)
			e.Reconcile(t, ctx, syncd.ModeApply, false)
			cancel()
			converge(t, e, 4)
			if m, p := countObjects(t, e.Emu); m != 2 || p != 2 {
				t.Fatalf("make %d, patchworks %d", m, p)
			}
		})
	}
}

func TestFaultsStillConverge(t *testing.T) {
	e := testenv.New(t, testenv.Options{Knobs: emulator.Knobs{
		FailRate: 0.10, Rate429: 0.05, FailAfterWriteRate: 0.10, TimeoutRate: 0.02, Latency: time.Millisecond,
	}, Timeout: 300 * time.Millisecond})
	for i := range 6 {
		e.Write(t, fmt.Sprintf("make/%d.yaml", i), testenv.MakeDoc(fmt.Sprintf("m-%d", i), "app-one", fmt.Sprintf("M %d", i), "apikey"))
		e.Write(t, fmt.Sprintf("pw/%d.yaml", i), testenv.PatchworksDoc(fmt.Sprintf("p-%d", i), fmt.Sprintf("P %d", i)))
	}
	converge(t, e, 12)
	e.Emu.UpdateKnobs(func(k *emulator.Knobs) { *k = emulator.Knobs{} })
	if p := e.Plan(t, false); p.HasChanges() {
		t.Fatalf("plan not empty after convergence: %+v", p.Summary)
	}
	if m, p := countObjects(t, e.Emu); m != 6 || p != 6 {
		t.Fatalf("make %d, patchworks %d", m, p)
	}
}

// rejectFirstPut answers the first PUT with a 400 without sending it.
type rejectFirstPut struct {
	inner http.RoundTripper
	done  atomic.Bool
}

func (r *rejectFirstPut) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && r.done.CompareAndSwap(false, true) {
		return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"detail":"rejected","message":"Bad request","code":"SC400"}`)), Request: req}, nil
	}
	return r.inner.RoundTrip(req)
}

// TestPartlyFailedCreateIsOwned: the connection was created but one of its
// sections was refused; syncd owns it, so the next apply updates it instead
// of adopting or duplicating it.
func TestPartlyFailedCreateIsOwned(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	cfg := e.Config
	cfg.HTTPClient = &http.Client{Transport: &rejectFirstPut{inner: http.DefaultTransport}}
	providers, err := engine.Providers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := stack.Wire(e.Store, e.State, providers, e.Hasher, stack.Settings{}).Runner
	res, err := r.Once(context.Background(), reconcile.Request{Trigger: "test", Mode: syncd.ModeApply, Set: e.Load(t)})
	if err != nil || res.Report.Failed != 1 {
		t.Fatalf("first apply: %v %+v", err, res.Report)
	}
	if c := change(e.Plan(t, false), "conn-a"); c.Action != planner.ActionUpdate {
		t.Fatalf("after a partly failed create the plan is %s, want update", c.Action)
	}
	converge(t, e, 3)
	if m, _ := countObjects(t, e.Emu); m != 1 {
		t.Fatalf("make objects = %d", m)
	}
}
