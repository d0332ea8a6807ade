package pgtest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func query(t *testing.T, url, sql string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// TestSmoke proves the test setup: a real server answers a query.
func TestSmoke(t *testing.T) {
	if got := query(t, Database(t), "select 1"); got != 1 {
		t.Fatalf("select 1 = %d", got)
	}
}

func TestDatabasesAreFreshAndSeparate(t *testing.T) {
	a, b := Database(t), Database(t)
	if a == b {
		t.Fatalf("two calls gave the same database %s", a)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "create table t (x int)"); err != nil {
		t.Fatal(err)
	}
	if got := query(t, b, "select count(*) from pg_tables where schemaname = 'public'"); got != 0 {
		t.Fatalf("second database has %d tables, want 0", got)
	}
}

func TestClusterStopStart(t *testing.T) {
	c := StartCluster(t)
	url := CreateDatabase(t, c.URL())
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "create table t (x int); insert into t values (1), (2)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	c.Stop()
	if _, err := pgx.Connect(ctx, url); err == nil {
		t.Fatal("connected to a stopped server")
	}
	c.Start()
	if got := query(t, url, "select sum(x) from t"); got != 3 {
		t.Fatalf("after restart sum = %d, want 3", got)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"url", "postgres://u@h:5/postgres?sslmode=disable", "postgres://u@h:5/x?sslmode=disable"},
		{"url without path", "postgresql://u@h", "postgresql://u@h/x"},
		{"keywords", "host=/tmp port=5 dbname=postgres", "host=/tmp port=5 dbname=postgres dbname=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withDatabase(tt.in, "x")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestDatabaseFrom(t *testing.T) {
	setups := 0
	setup := func(ctx context.Context, dsn string) error {
		setups++
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "create table seeded (x int); insert into seeded values (7)")
		return err
	}
	a := DatabaseFrom(t, "seeded", setup)
	b := DatabaseFrom(t, "seeded", setup)
	if a == b || setups != 1 {
		t.Fatalf("urls %s %s, %d setups; want two databases from one setup", a, b, setups)
	}
	for _, u := range []string{a, b} {
		if got := query(t, u, "select x from seeded"); got != 7 {
			t.Errorf("%s: seeded x = %d", u, got)
		}
	}
}
