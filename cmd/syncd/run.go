package main

import (
	"context"
	"errors"
)

// runCmd is a placeholder replaced by the command's real implementation.
type runCmd struct{}

func (c *runCmd) Run(ctx context.Context, g *Globals) error {
	return errors.New("run: not implemented yet")
}
