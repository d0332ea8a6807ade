package main

import (
	"context"
	"errors"
)

// validateCmd is a placeholder replaced by the command's real implementation.
type validateCmd struct{}

func (c *validateCmd) Run(ctx context.Context, g *Globals) error {
	return errors.New("validate: not implemented yet")
}
