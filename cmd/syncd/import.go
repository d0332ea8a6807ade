package main

import (
	"context"
	"errors"
)

// importCmd is a placeholder replaced by the command's real implementation.
type importCmd struct{}

func (c *importCmd) Run(ctx context.Context, g *Globals) error {
	return errors.New("import: not implemented yet")
}
