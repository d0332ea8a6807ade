package main

import (
	"context"
	"errors"
)

// schemaCmd is a placeholder replaced by the command's real implementation.
type schemaCmd struct{}

func (c *schemaCmd) Run(ctx context.Context, g *Globals) error {
	return errors.New("schema: not implemented yet")
}
