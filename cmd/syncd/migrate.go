package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/syncd/syncd/internal/pgstore"
	"github.com/syncd/syncd/internal/stack"
	"github.com/syncd/syncd/internal/state"
)

// migrateCmd applies the embedded database migrations and creates the HMAC
// key if there is none (the read-only commands never create it).
type migrateCmd struct {
	databaseFlag

	out io.Writer `kong:"-"`
}

func (c *migrateCmd) Run(ctx context.Context, g *Globals) error {
	url, err := c.requireDatabase()
	if err != nil {
		return err
	}
	if err := state.Prepare(ctx, url); err != nil {
		return err
	}
	fmt.Fprintln(writerOr(c.out), "migrations applied")
	return nil
}

// requireDatabase returns the database URL or says how to give one.
func (d databaseFlag) requireDatabase() (string, error) {
	if d.DatabaseURL == "" {
		return "", errors.New("no database: set SYNCD_DATABASE_URL (or DATABASE_URL, or --database-url)")
	}
	if err := pgstore.CheckDatabaseURL(d.DatabaseURL); err != nil {
		return "", err
	}
	return d.DatabaseURL, nil
}

// openReader opens the read-only assembly (stack.Reader): queries only,
// no spool, and no method that writes or migrates.
func (d databaseFlag) openReader(ctx context.Context, g *Globals) (*stack.Reader, error) {
	url, err := d.requireDatabase()
	if err != nil {
		return nil, err
	}
	return stack.OpenReader(ctx, url, newLogger(g, os.Stderr))
}

func writerOr(w io.Writer) io.Writer {
	if w == nil {
		return os.Stdout
	}
	return w
}
