package main

import (
	"context"
	"io"
	"os"

	"github.com/syncd/syncd/internal/desired"
)

// schemaCmd prints the manifest format's JSON Schema, for editors
// (yaml-language-server: `# yaml-language-server: $schema=<file>`).
type schemaCmd struct {
	stdout io.Writer // nil: the process's own
}

func (c *schemaCmd) Run(ctx context.Context, g *Globals) error {
	w := c.stdout
	if w == nil {
		w = os.Stdout
	}
	_, err := w.Write(desired.Schema())
	return err
}
