package main

import (
	"context"
	"errors"
)

// emulatorCmd is a placeholder replaced by the command's real implementation.
type emulatorCmd struct{}

func (c *emulatorCmd) Run(ctx context.Context, g *Globals) error {
	return errors.New("emulator: not implemented yet")
}
