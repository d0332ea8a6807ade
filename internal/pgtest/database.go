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
)

// Main runs the tests and then stops the cluster Database may have
// started. Use it as TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
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

// CreateDatabase creates a fresh database on the server at serverURL (for
// instance a Cluster's URL) and drops it when the test ends.
func CreateDatabase(t testing.TB, serverURL string) string {
	t.Helper()
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := fmt.Sprintf("syncd_test_%d_%d_%s", os.Getpid(), dbCounter.Add(1), hex.EncodeToString(suffix[:]))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatalf("pgtest: connect to the test server: %v", err)
	}
	defer conn.Close(context.Background())
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		var pgErr *pgconn.PgError
		// 55006: template1 is briefly in use by a concurrent CREATE DATABASE.
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || attempt == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			return // the server is gone, and its databases with it
		}
		defer conn.Close(context.Background())
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	u, err := withDatabase(serverURL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
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
