package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/syncd/syncd/internal/engine"
)

// manifestsFlag is the manifests directory, shared by every command that loads them.
type manifestsFlag struct {
	Manifests string `name:"manifests" env:"SYNCD_MANIFESTS" default:"manifests" help:"Manifests directory."`
}

// check fails early when the manifests directory cannot be read at all:
// planning "nothing" from a mistyped path would only hide the mistake.
func (m manifestsFlag) check() error {
	st, err := os.Stat(m.Manifests)
	if err != nil {
		return fmt.Errorf("manifests directory %s: %w", m.Manifests, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return fmt.Errorf("manifests directory %s: not a directory", m.Manifests)
	}
	return nil
}

// platformFlags configure the platform clients. Tokens are read from the
// environment only, so that they never show in a process list.
type platformFlags struct {
	MakeURL         string  `name:"make-url" env:"SYNCD_MAKE_URL" help:"Make base URL including /api/v2; the API token is read from SYNCD_MAKE_TOKEN."`
	MakeZone        string  `name:"make-zone" env:"SYNCD_MAKE_ZONE" help:"Make zone (eu1, eu2, us1, us2, eu1.celonis, us1.celonis) instead of --make-url; token in SYNCD_MAKE_TOKEN."`
	MakeToken       string  `name:"make-token" env:"SYNCD_MAKE_TOKEN" hidden:"" help:"Make API token (prefer the environment)."`
	PatchworksURL   string  `name:"patchworks-url" env:"SYNCD_PATCHWORKS_URL" help:"Patchworks base URL (the part before /api/v1); the API key is read from SYNCD_PATCHWORKS_TOKEN."`
	PatchworksToken string  `name:"patchworks-token" env:"SYNCD_PATCHWORKS_TOKEN" hidden:"" help:"Patchworks API key (prefer the environment)."`
	MakeRPM         int     `name:"make-rpm" env:"SYNCD_MAKE_RPM" default:"60" help:"Make requests per minute (60 is safe for the smallest plan)."`
	PatchworksRPM   int     `name:"patchworks-rpm" env:"SYNCD_PATCHWORKS_RPM" default:"600" help:"Patchworks requests per minute."`
	MakeShare       float64 `name:"make-quota-share" env:"SYNCD_MAKE_QUOTA_SHARE" default:"0.5" help:"Share of Make's per-minute limit syncd may use (0 < share <= 1); the rest is left to the organisation's scenarios."`
	PatchworksShare float64 `name:"patchworks-quota-share" env:"SYNCD_PATCHWORKS_QUOTA_SHARE" default:"0.5" help:"Share of Patchworks' per-minute limit syncd may use (0 < share <= 1)."`
	Concurrency     int     `name:"concurrency" env:"SYNCD_CONCURRENCY" default:"8" help:"Requests in flight per platform."`
}

func (p platformFlags) config(log *slog.Logger) engine.Config {
	return engine.Config{
		MakeURL: p.MakeURL, MakeZone: p.MakeZone, MakeToken: p.MakeToken,
		PatchworksURL: p.PatchworksURL, PatchworksToken: p.PatchworksToken,
		MakeRPM: p.MakeRPM, PatchworksRPM: p.PatchworksRPM,
		MakeQuotaShare: p.MakeShare, PatchworksQuotaShare: p.PatchworksShare,
		Concurrency: p.Concurrency, Logger: log,
	}
}

// databaseFlag names the audit and inventory database.
type databaseFlag struct {
	DatabaseURL string `name:"database-url" env:"SYNCD_DATABASE_URL,DATABASE_URL" help:"PostgreSQL URL for audit and inventory."`
}

// hmacFlag keys the hashes of secrets kept in the inventory.
type hmacFlag struct {
	HMACKey string `name:"hmac-key" env:"SYNCD_HMAC_KEY" hidden:"" help:"Key for hashing secrets in the inventory."`
}

func newLogger(g *Globals, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(g.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if g.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// isTerminal reports whether f is a terminal. A character device is not
// enough: /dev/null is one too.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// useColor follows https://no-color.org and only colours terminals.
func useColor(f *os.File) bool {
	return os.Getenv("NO_COLOR") == "" && isTerminal(f)
}

// confirm asks on the terminal; only "yes" proceeds.
func confirm(ctx context.Context, in io.Reader, out io.Writer, question string) bool {
	fmt.Fprintf(out, "%s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question)
	answer := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(in).ReadString('\n')
		answer <- strings.TrimSpace(s)
	}()
	select {
	case a := <-answer:
		return a == "yes"
	case <-ctx.Done():
		return false
	}
}

// Validate rejects a quota share outside (0, 1] before anything runs
// (kong calls it for every command that embeds platformFlags).
func (p platformFlags) Validate() error {
	for _, s := range []struct {
		flag string
		v    float64
	}{{"--make-quota-share", p.MakeShare}, {"--patchworks-quota-share", p.PatchworksShare}} {
		if s.v <= 0 || s.v > 1 {
			return fmt.Errorf("%s %v: want a share greater than 0 and at most 1", s.flag, s.v)
		}
	}
	return nil
}
