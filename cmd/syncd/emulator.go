package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/syncd/syncd/internal/emulator"
)

// emulatorCmd serves both platform APIs from memory until the context ends.
type emulatorCmd struct {
	Listen             string        `name:"listen" default:"127.0.0.1:8089" help:"Address to listen on (port 0 picks a free one)."`
	Latency            time.Duration `name:"latency" default:"0s" help:"Delay added to every API request."`
	FailRate           float64       `name:"fail-rate" default:"0" help:"Fraction of API requests answered 5xx before doing anything."`
	FailAfterWriteRate float64       `name:"fail-after-write-rate" default:"0" help:"Fraction of writes carried out and then answered 502."`
	TimeoutRate        float64       `name:"timeout-rate" default:"0" help:"Fraction of API requests that hang until the client gives up."`
	Rate429            float64       `name:"rate-429" default:"0" help:"Fraction of API requests answered 429 at random."`
	RateLimit          int           `name:"rate-limit" default:"0" help:"Requests per minute per platform; over it 429 with Retry-After (0 = unlimited)."`
	RateWindow         time.Duration `name:"rate-window" default:"0s" help:"Count --rate-limit per fixed window of this length (e.g. 1m, as Laravel does; assumed for Make) instead of a token bucket."`
	RateHeaders        string        `name:"rate-headers" enum:",full,laravel" default:"" help:"Rate-limit headers to send: none (empty), full (X-RateLimit-Limit/-Remaining/-Reset always) or laravel (Reset only with a 429). Assumed."`
	DeleteLag          int           `name:"delete-lag" default:"0" help:"List requests that still show a deleted Make connection (0 = default 1, negative = none)."`
	RandomSeed         int64         `name:"random-seed" default:"1" help:"Seed of the random source behind the rate knobs."`
	Seed               string        `name:"seed" type:"existingfile" help:"JSON file of objects to preload (format in internal/emulator/doc.go)."`
	Apps               []string      `name:"app" help:"A Make app that exists, empty (repeatable); Make answers 404 for apps neither given here nor seeded."`
	MakeToken          string        `name:"make-token" default:"make-token" env:"SYNCD_MAKE_TOKEN" help:"Accepted Make token (Authorization: Token <T>)."`
	PatchworksToken    string        `name:"patchworks-token" default:"patchworks-key" env:"SYNCD_PATCHWORKS_TOKEN" help:"Accepted Patchworks key (Authorization: <K>)."`
	ReadyFile          string        `name:"ready-file" help:"Write the address actually listened on to this file once serving."`

	out io.Writer // where the base URLs go; nil means stdout
}

func (c *emulatorCmd) Run(ctx context.Context, g *Globals) error {
	srv := emulator.New(emulator.Options{
		Knobs: emulator.Knobs{
			Latency: c.Latency, FailRate: c.FailRate, FailAfterWriteRate: c.FailAfterWriteRate,
			TimeoutRate: c.TimeoutRate, Rate429: c.Rate429, RateLimit: c.RateLimit, DeleteLag: c.DeleteLag,
			RateWindow: c.RateWindow, RateHeaders: c.RateHeaders,
		},
		MakeToken:       c.MakeToken,
		PatchworksToken: c.PatchworksToken,
		Seed:            c.RandomSeed,
		MakeApps:        c.Apps,
	})
	if c.Seed != "" {
		if _, err := srv.SeedFile(c.Seed); err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	addr := ln.Addr().String()
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintf(out, "make: http://%s/api/v2\npatchworks: http://%s\n", addr, addr)
	if c.ReadyFile != "" {
		if err := os.WriteFile(c.ReadyFile, []byte(addr+"\n"), 0o644); err != nil {
			ln.Close()
			return fmt.Errorf("emulator: ready file: %w", err)
		}
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("emulator: %w", err)
	case <-ctx.Done():
	}
	srv.Close() // release requests held by --timeout-rate
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("emulator: shutdown: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("emulator: %w", err)
	}
	return nil
}
