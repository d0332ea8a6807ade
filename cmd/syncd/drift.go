package main

import (
	"context"
	"errors"
)

// driftCmd is a placeholder replaced by the command's real implementation.
type driftCmd struct{}

func (c *driftCmd) Run(ctx context.Context, g *Globals) error {
	return errors.New("drift: not implemented yet")
}
