package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"

	"github.com/alecthomas/kong"
	"golang.org/x/term"

	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
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

// platformFlags configure the platform clients: each platform's settings
// (registry.Settings) as flags, then the common ones. Tokens are read from
// the environment only, so that they never show in a process list.
type platformFlags struct {
	// Platforms holds one struct whose fields are the platforms' settings
	// (settingsPlugin); withPlatformFlags fills it before parsing.
	Platforms   kong.Plugins `embed:""`
	Concurrency int          `name:"concurrency" env:"SYNCD_CONCURRENCY" default:"8" help:"Requests in flight per platform."`
}

// settingsPlugin builds the struct kong reads the platforms' settings
// into: one field per setting, tagged as a hand-written flag would be.
func settingsPlugin() any {
	settings := registry.Settings()
	fields := make([]reflect.StructField, len(settings))
	for i, s := range settings {
		t := reflect.TypeFor[string]()
		switch s.Kind {
		case platform.SettingInt:
			t = reflect.TypeFor[int]()
		case platform.SettingShare:
			t = reflect.TypeFor[float64]()
		}
		tag := fmt.Sprintf("name:%q env:%q", s.Flag, s.Env)
		if s.Hidden {
			tag += ` hidden:""`
		}
		if s.Default != "" {
			tag += fmt.Sprintf(" default:%q", s.Default)
		}
		tag += fmt.Sprintf(" help:%q", s.Help)
		fields[i] = reflect.StructField{Name: fmt.Sprintf("Setting%d", i), Type: t, Tag: reflect.StructTag(tag)}
	}
	return reflect.New(reflect.StructOf(fields)).Interface()
}

// withPlatformFlags gives every platformFlags in v (the command tree) its
// own settings struct.
func withPlatformFlags(v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	if v.Type() == reflect.TypeFor[platformFlags]() {
		// Embedded unexported, yet its exported fields can be set.
		v.FieldByName("Platforms").Set(reflect.ValueOf(kong.Plugins{settingsPlugin()}))
		return
	}
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Struct || f.Kind() == reflect.Pointer && !f.IsNil() {
			withPlatformFlags(f)
		}
	}
}

// settings calls f with each platform setting and its parsed value; none
// when the flags were not parsed (a command built by a test).
func (p platformFlags) settings(f func(s registry.Setting, v any)) {
	if len(p.Platforms) == 0 {
		return
	}
	rv := reflect.ValueOf(p.Platforms[0]).Elem()
	for i, s := range registry.Settings() {
		f(s, rv.Field(i).Interface())
	}
}

func (p platformFlags) config(log *slog.Logger) engine.Config {
	cfg := engine.Config{Concurrency: p.Concurrency, Logger: log}
	p.settings(func(s registry.Setting, v any) { cfg.Set(s.Platform, platform.Values{s.Flag: v}) })
	return cfg
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
	var err error
	p.settings(func(s registry.Setting, v any) {
		if x, ok := v.(float64); ok && s.Kind == platform.SettingShare && err == nil && (x <= 0 || x > 1) {
			err = fmt.Errorf("--%s %v: want a share greater than 0 and at most 1", s.Flag, x)
		}
	})
	return err
}
