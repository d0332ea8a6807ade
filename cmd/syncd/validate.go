package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

// validateCmd loads the manifests and reports every problem. Its flag is
// not type:"path" on purpose: errors name files the way the user typed the
// directory.
type validateCmd struct {
	Manifests string `name:"manifests" env:"SYNCD_MANIFESTS" default:"manifests" help:"Manifests directory."`

	stdout, stderr io.Writer // nil: the process's own
}

func (c *validateCmd) Run(ctx context.Context, g *Globals) error {
	adjustStartingHeap()
	stdout, stderr := c.stdout, c.stderr
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	set, err := desired.Load(c.Manifests, g.Loader.options())
	var errs desired.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Error())
		}
		return &exitError{code: 1}
	}
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	counts := map[syncd.Kind]int{}
	for _, d := range set.Resources {
		counts[d.Key.Kind]++
	}
	var parts []string
	for _, pl := range registry.All() {
		parts = append(parts, fmt.Sprintf("%d %s", counts[pl.Kind()], pl.Kind()))
	}
	fmt.Fprintf(stdout, "%s: valid: %d resources (%s) in %d files\n",
		c.Manifests, len(set.Resources), strings.Join(parts, ", "), len(set.Files))
	return nil
}
