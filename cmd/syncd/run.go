package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/syncd"
)

type runCmd struct {
	manifestsFlag
	platformFlags
	databaseFlag
	hmacFlag
	spoolFlag

	Mode             string `name:"mode" enum:"apply,report" default:"report" env:"SYNCD_MODE" help:"apply converges; report records drift and never writes."`
	Schedule         string `name:"schedule" env:"SYNCD_SCHEDULE" default:"@every 5m" help:"Full drift scan schedule (cron syntax or @every DURATION); empty to disable."`
	Listen           string `name:"listen" env:"SYNCD_LISTEN" default:"127.0.0.1:8080" help:"HTTP address for /healthz, /readyz, /metrics and /v1/status; empty to disable. Beyond loopback it needs SYNCD_HTTP_TOKEN. SYNCD_AUDIT_KEY (or SYNCD_AUDIT_KEY_FILE) keys the audit chain; SYNCD_CHECKPOINT_DIR receives its signed heads."`
	Prune            bool   `name:"prune" help:"Delete owned objects whose manifest is gone."`
	MaxDelete        int    `name:"max-delete" help:"Refuse plans deleting more objects than this (default max(5, 10% of the inventory))."`
	AllowMassDelete  bool   `name:"allow-mass-delete" help:"Allow more deletes than --max-delete."`
	NoTestConnectors bool   `name:"no-test-connectors" help:"Do not probe Patchworks connectors after writing them."`
	HTTPMaxConns     int    `name:"http-max-conns" env:"SYNCD_HTTP_MAX_CONNS" help:"Cap on concurrent HTTP connections (default 64; always leaves 256 file descriptors for scans). Listening beyond loopback needs SYNCD_HTTP_TOKEN, a bearer token for everything but /healthz and /readyz."`
}

func (c *runCmd) Run(ctx context.Context, g *Globals) error {
	log := newLogger(g, os.Stderr)
	if err := c.manifestsFlag.check(); err != nil {
		return err
	}
	if c.Schedule != "" {
		if _, err := daemon.ValidateSchedule(c.Schedule); err != nil {
			return err
		}
	}
	st, err := openStack(ctx, log, c.platformFlags, c.databaseFlag, c.hmacFlag, c.spoolFlag, !c.NoTestConnectors)
	if err != nil {
		return err
	}
	defer st.close()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	err = daemon.Run(ctx, daemon.Options{
		ManifestsDir: c.Manifests, Mode: syncd.Mode(c.Mode), Schedule: c.Schedule, Listen: c.Listen,
		Prune: c.Prune, MaxDelete: c.MaxDelete, AllowMassDelete: c.AllowMassDelete,
		DatabaseURL: c.DatabaseURL, Runner: st.runner, Store: st.store, Logger: log, Reload: reload,
		HTTPToken: os.Getenv("SYNCD_HTTP_TOKEN"), MaxConns: c.HTTPMaxConns,
	})
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}
