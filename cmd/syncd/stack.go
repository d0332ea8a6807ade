package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/syncd"
)

// spoolFlag is where audit events wait while PostgreSQL is unreachable.
type spoolFlag struct {
	SpoolDir string `name:"spool-dir" env:"SYNCD_SPOOL_DIR" default:".syncd/spool" type:"path" help:"Durable local spool for audit events while the database is unreachable."`
}

// stack is everything a writing command needs, wired together.
type stack struct {
	store  *audit.Store
	runner *reconcile.Runner
}

func (s *stack) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.store.Flush(ctx)
	_ = s.store.Close()
}

// openStack opens the audit store (migrating it), the platform clients,
// the executor and the reconcile runner.
func openStack(ctx context.Context, log *slog.Logger, pf platformFlags, db databaseFlag, hf hmacFlag, sf spoolFlag, testConnectors bool) (*stack, error) {
	if db.DatabaseURL == "" {
		return nil, errors.New("SYNCD_DATABASE_URL (or --database-url) is required: the audit log and the inventory live in PostgreSQL")
	}
	providers, err := engine.Providers(pf.config(log))
	if err != nil {
		return nil, err
	}
	ak := auditKeyFromEnv()
	chainKey, err := ak.key()
	if err != nil {
		return nil, err
	}
	if chainKey == nil {
		log.Warn("SYNCD_AUDIT_KEY is not set: the audit chain is not keyed, and no checkpoints are written")
	}
	store, err := audit.Open(ctx, db.DatabaseURL, audit.Options{SpoolDir: sf.SpoolDir, Logger: log, Migrate: true,
		ChainKey: chainKey, CheckpointDir: ak.CheckpointDir})
	if err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	if err := store.Migrate(ctx); err != nil {
		// The database may be down: events spool, but nothing is created
		// until intents can be journalled.
		log.Warn("migrate", "error", err)
	}
	hasher, err := hf.hasherFrom(ctx, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	runner := reconcile.New(store, providers, hasher, reconcile.Settings{TestConnectors: testConnectors, Logger: log, Actor: actorName()})
	return &stack{store: store, runner: runner}, nil
}

// actorName says who ran syncd: SYNCD_ACTOR, else user@host.
func actorName() string {
	if a := os.Getenv("SYNCD_ACTOR"); a != "" {
		return a
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// hasher returns the keyed hasher from SYNCD_HMAC_KEY, or an unkeyed one
// when it is unset.
func (h hmacFlag) hasher() (syncd.Hasher, error) {
	if h.HMACKey != "" {
		return syncd.NewHasher([]byte(h.HMACKey)), nil
	}
	return syncd.NewHasher([]byte(unkeyed)), nil
}

// hasherFrom prefers SYNCD_HMAC_KEY and otherwise uses the key kept in the
// database (generated on first use), so that every replica and every CLI
// run against one database hashes alike.
func (h hmacFlag) hasherFrom(ctx context.Context, store *audit.Store) (syncd.Hasher, error) {
	if h.HMACKey != "" {
		return syncd.NewHasher([]byte(h.HMACKey)), nil
	}
	key, err := store.HMACKey(ctx)
	if err != nil {
		return syncd.Hasher{}, fmt.Errorf("hmac key: set SYNCD_HMAC_KEY or make the database reachable: %w", err)
	}
	return syncd.NewHasher(key), nil
}

// unkeyed is the key used when neither SYNCD_HMAC_KEY nor a database is
// configured (a plan in pull-request CI): hashes then only compare values
// within one run and are never stored.
const unkeyed = "syncd-unkeyed-plan"

func nowUTC() time.Time { return time.Now().UTC() }
