package main

import (
	"context"
	"errors"
)

// applyCmd is a placeholder replaced by the command's real implementation.
type applyCmd struct{}

func (c *applyCmd) Run(ctx context.Context, g *Globals) error {
	return errors.New("apply: not implemented yet")
}
