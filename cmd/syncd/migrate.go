package main

import (
	"context"
	"errors"
)

// migrateCmd is a placeholder replaced by the command's real implementation.
type migrateCmd struct{}

func (c *migrateCmd) Run(ctx context.Context, g *Globals) error {
	return errors.New("migrate: not implemented yet")
}
