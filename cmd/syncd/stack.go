package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/user"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/stack"
)

// spoolFlag is where audit events wait while PostgreSQL is unreachable.
type spoolFlag struct {
	SpoolDir string `name:"spool-dir" env:"SYNCD_SPOOL_DIR" default:".syncd/spool" type:"path" help:"Durable local spool for audit events while the database is unreachable."`
}

// openStack builds the writing stack (internal/stack): the audit store
// (migrating it), the platform clients, the executor and the reconcile
// runner.
func openStack(ctx context.Context, log *slog.Logger, pf platformFlags, db databaseFlag, hf hmacFlag, sf spoolFlag, testConnectors bool) (*stack.Stack, error) {
	if db.DatabaseURL == "" {
		return nil, errors.New("SYNCD_DATABASE_URL (or --database-url) is required: the audit log and the inventory live in PostgreSQL")
	}
	ak := auditKeyFromEnv()
	return stack.Open(ctx, stack.Config{
		Platforms:   pf.config(log),
		DatabaseURL: db.DatabaseURL,
		Store:       audit.Options{SpoolDir: sf.SpoolDir, Logger: log, Migrate: true, CheckpointDir: ak.CheckpointDir},
		ChainKey: func() ([]byte, error) {
			key, err := ak.key()
			if err == nil && key == nil {
				log.Warn("SYNCD_AUDIT_KEY is not set: the audit chain is not keyed, and no checkpoints are written")
			}
			return key, err
		},
		// The database may be down: events spool, but nothing is created
		// until intents can be journalled.
		OnMigrateError: func(err error) { log.Warn("migrate", "error", err) },
		HMACKey:        hf.key(),
		Runner:         stack.Settings{TestConnectors: testConnectors, Logger: log, Actor: actorName()},
	})
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

// key is SYNCD_HMAC_KEY, nil when it is unset.
func (h hmacFlag) key() []byte {
	if h.HMACKey == "" {
		return nil
	}
	return []byte(h.HMACKey)
}

func nowUTC() time.Time { return time.Now().UTC() }
