package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvURL names the variable that points tests at an existing server.
const EnvURL = "SYNCD_TEST_DATABASE_URL"

var (
	sharedOnce    sync.Once
	sharedCluster *Cluster
	sharedErr     error
	dbCounter     atomic.Int64

	templatesMu sync.Mutex
	templates   = map[string]*template{}
)

// template is a database prepared once per process and cloned per test.
type template struct {
	once   sync.Once
	server string
	name   string
	err    error
}

// Main runs the tests and then stops the cluster Database may have
// started. Use it as TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	dropTemplates()
	if sharedCluster != nil {
		sharedCluster.remove()
	}
	os.Exit(code)
}

// ServerURL returns the URL of the server Database creates databases on,
// starting the per-process cluster when SYNCD_TEST_DATABASE_URL is unset.
func ServerURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	sharedOnce.Do(func() {
		c, err := newCluster(true)
		if err != nil {
			sharedErr = err
			return
		}
		if err := c.start(); err != nil {
			c.remove()
			sharedErr = err
			return
		}
		sharedCluster = c
	})
	if sharedErr != nil {
		t.Fatalf("pgtest: no database (%s is unset and no throwaway cluster could be started): %v", EnvURL, sharedErr)
	}
	return sharedCluster.URL()
}

// Database creates a fresh, empty database for t and returns its URL. The
// database is dropped when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	return CreateDatabase(t, ServerURL(t))
}

// DatabaseFrom returns a fresh database that starts as a copy of a
// template prepared once per process by setup (for instance, migrated):
// cloning is much cheaper than repeating setup in every test. setup must
// close its connections before it returns, since a database in use cannot
// be cloned.
func DatabaseFrom(t testing.TB, name string, setup func(ctx context.Context, dsn string) error) string {
	t.Helper()
	server := ServerURL(t)
	templatesMu.Lock()
	tp := templates[server+"\x00"+name]
	if tp == nil {
		tp = &template{server: server}
		templates[server+"\x00"+name] = tp
	}
	templatesMu.Unlock()
	tp.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		dbname := uniqueName("syncd_tmpl")
		if tp.err = createDatabase(ctx, server, dbname, ""); tp.err != nil {
			return
		}
		tp.name = dbname
		dsn, err := withDatabase(server, dbname)
		if err == nil {
			err = setup(ctx, dsn)
		}
		tp.err = err
	})
	if tp.err != nil {
		t.Fatalf("pgtest: prepare template %s: %v", name, tp.err)
	}
	return cloneDatabase(t, server, tp.name)
}

func dropTemplates() {
	templatesMu.Lock()
	defer templatesMu.Unlock()
	for _, tp := range templates {
		if tp.name != "" {
			dropDatabase(tp.server, tp.name)
		}
	}
}

// CreateDatabase creates a fresh database on the server at serverURL (for
// instance a Cluster's URL) and drops it when the test ends.
func CreateDatabase(t testing.TB, serverURL string) string {
	t.Helper()
	return cloneDatabase(t, serverURL, "")
}

func cloneDatabase(t testing.TB, serverURL, template string) string {
	t.Helper()
	name := uniqueName("syncd_test")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := createDatabase(ctx, serverURL, name, template); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { dropDatabase(serverURL, name) })
	u, err := withDatabase(serverURL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

func uniqueName(prefix string) string {
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	return fmt.Sprintf("%s_%d_%d_%s", prefix, os.Getpid(), dbCounter.Add(1), hex.EncodeToString(suffix[:]))
}

func createDatabase(ctx context.Context, serverURL, name, template string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connect to the test server: %w", err)
	}
	defer conn.Close(context.Background())
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
		// From PostgreSQL 15 a clone is WAL-logged block by block by
		// default; copying the template's files is about three times
		// faster for a small test database (the test clusters run with
		// fsync off, so the checkpoint FILE_COPY takes is cheap).
		var version int
		if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
			return fmt.Errorf("server version: %w", err)
		}
		if version >= 150000 {
			sql += " STRATEGY FILE_COPY"
		}
	}
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		// 55006: the template is briefly in use by a concurrent CREATE
		// DATABASE.
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || attempt == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	return nil
}

func dropDatabase(serverURL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return // the server is gone, and its databases with it
	}
	defer conn.Close(context.Background())
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// withDatabase points a URL or keyword/value connection string at dbname.
func withDatabase(conn, dbname string) (string, error) {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.Path = "/" + dbname
		return u.String(), nil
	}
	// In keyword/value form a later keyword wins.
	return conn + " dbname=" + dbname, nil
}

// Connect opens a connection to dsn that the test closes when it ends.
func Connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
