package main

import (
	"context"
	"errors"
)

// auditCmd is a placeholder replaced by the command's real implementation.
type auditCmd struct{}

func (c *auditCmd) Run(ctx context.Context, g *Globals) error {
	return errors.New("audit: not implemented yet")
}
