package main

import (
	"context"
	"errors"
)

// planCmd is a placeholder replaced by the command's real implementation.
type planCmd struct{}

func (c *planCmd) Run(ctx context.Context, g *Globals) error {
	return errors.New("plan: not implemented yet")
}
