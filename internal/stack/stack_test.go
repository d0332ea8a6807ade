package stack_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgstore"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/stack"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// platforms configures both platforms against an address nothing is asked
// of: building the stack sends no request.
var platforms = platform.Config{Settings: map[string]platform.Values{
	"make":       {"make-url": "http://127.0.0.1:1/api/v2", "make-token": "t"},
	"patchworks": {"patchworks-url": "http://127.0.0.1:1", "patchworks-token": "t"},
}}

// TestReadOnlyAssembliesHaveNoWrites: the read-only assemblies expose
// reads only, so that a command built on them cannot write or migrate by
// mistake: the compiler refuses it. A new method must be added here, read
// or not, on purpose.
func TestReadOnlyAssembliesHaveNoWrites(t *testing.T) {
	for _, tc := range []struct {
		typ  reflect.Type
		want []string
	}{
		{reflect.TypeFor[*stack.Reader](), []string{"Close", "Events", "Head", "Inventory", "OpenDrifts", "StuckResources", "VerifyWith"}},
		{reflect.TypeFor[*stack.Planner](), nil},
	} {
		var got []string
		for i := range tc.typ.NumMethod() {
			got = append(got, tc.typ.Method(i).Name)
		}
		slices.Sort(got)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s methods (-want +got):\n%s", tc.typ, diff)
		}
	}
	// The planner's fields: an engine, which only reads, and the
	// inventory as read; no store.
	pt := reflect.TypeFor[stack.Planner]()
	for i := range pt.NumField() {
		if f := pt.Field(i); f.Type == reflect.TypeFor[*audit.Store]() || f.Type == reflect.TypeFor[*state.Store]() {
			t.Errorf("Planner.%s is a store: the planner must not be able to write", f.Name)
		}
	}
}

// TestOpenMigratesAndWires: the writing stack migrates the database,
// creates the HMAC key, and wires one store into the executor and the
// runner; a read-only planner over the same database then reads the
// inventory and the key and creates nothing.
func TestOpenMigratesAndWires(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Database(t)

	// Before any migration: the read-only assemblies refuse, and leave
	// the database as it is.
	if _, err := stack.OpenPlanner(ctx, stack.PlanConfig{Platforms: platforms, DatabaseURL: db}); !errors.Is(err, audit.ErrSchemaBehind) {
		t.Fatalf("OpenPlanner before migrating: %v, want ErrSchemaBehind", err)
	}
	if _, err := stack.OpenReader(ctx, db, quiet()); !errors.Is(err, audit.ErrSchemaBehind) {
		t.Fatalf("OpenReader before migrating: %v, want ErrSchemaBehind", err)
	}

	st, err := stack.Open(ctx, stack.Config{Platforms: platforms, DatabaseURL: db, RequireSchema: true,
		Store: audit.Options{SpoolDir: t.TempDir(), Logger: quiet()}, Runner: stack.Settings{Actor: "tester"}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Runner.Engine != st.Engine || st.Runner.Executor != st.Executor || st.Runner.Store != st.Store || st.Executor.Recorder != st.Store ||
		st.Runner.State != st.State || st.Executor.Inventory != st.State || st.Executor.Journal != st.State {
		t.Error("the runner, engine and executor are not wired to one another and to the store")
	}
	if len(st.Providers) != 2 || st.Runner.Actor != "tester" {
		t.Errorf("providers %v, actor %q", st.Providers, st.Runner.Actor)
	}
	key, err := st.State.HMACKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k := syncd.Key{Kind: syncd.PatchworksConnector, Name: "shop"}
	if err := st.State.Bind(ctx, syncd.Binding{Key: k, RemoteID: "7"}); err != nil {
		t.Fatal(err)
	}
	if got, want := st.Hasher.Hash("x"), syncd.NewHasher(key).Hash("x"); got != want {
		t.Error("the writing stack does not hash with the database's key")
	}

	p, err := stack.OpenPlanner(ctx, stack.PlanConfig{Platforms: platforms, DatabaseURL: db, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if p.NoInventory || p.NoKeyYet || p.Bindings[k].RemoteID != "7" || p.Engine.Hasher.Hash("x") != st.Hasher.Hash("x") {
		t.Errorf("planner: no inventory %v, no key %v, bindings %v; or a hasher other than the database's", p.NoInventory, p.NoKeyYet, p.Bindings)
	}
	given, err := stack.OpenPlanner(ctx, stack.PlanConfig{Platforms: platforms, DatabaseURL: db, HMACKey: []byte("given")})
	if err != nil {
		t.Fatal(err)
	}
	if given.Engine.Hasher.Hash("x") != syncd.NewHasher([]byte("given")).Hash("x") {
		t.Error("a given HMAC key does not win over the database's")
	}
	none, err := stack.OpenPlanner(ctx, stack.PlanConfig{Platforms: platforms})
	if err != nil {
		t.Fatal(err)
	}
	if !none.NoInventory || none.NoKeyYet || len(none.Bindings) != 0 || none.Engine.Hasher.Hash("x") != syncd.NewHasher([]byte(stack.Unkeyed)).Hash("x") {
		t.Errorf("planner without a database: %+v", none)
	}

	r, err := stack.OpenReader(ctx, db, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	inv, err := r.Inventory(ctx)
	if err != nil || len(inv) != 1 {
		t.Errorf("reader inventory %v, %v", inv, err)
	}
}

// TestPlannerCreatesNoKey: on a migrated database that has no HMAC key
// yet, the planner says so and creates none.
func TestPlannerCreatesNoKey(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Database(t)
	if err := pgstore.MigrateURL(ctx, db); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		p, err := stack.OpenPlanner(ctx, stack.PlanConfig{Platforms: platforms, DatabaseURL: db})
		if err != nil {
			t.Fatal(err)
		}
		if !p.NoKeyYet {
			t.Fatal("NoKeyYet is false on a database without a key: the planner created one")
		}
	}
}
