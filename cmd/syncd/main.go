// Command syncd keeps Make custom-app connections and Patchworks connectors
// in git. main only turns flags, environment and signals into calls on the
// internal packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"syscall"

	"github.com/alecthomas/kong"
)

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// cli is the whole command line. Each command lives in its own file.
type cli struct {
	Globals

	Validate   validateCmd   `cmd:"" help:"Check the manifests; exit 0 when valid, 1 with every problem listed."`
	Plan       planCmd       `cmd:"" help:"Show what would change (read-only)."`
	Apply      applyCmd      `cmd:"" help:"Apply a plan to the platforms. SYNCD_AUDIT_KEY (or SYNCD_AUDIT_KEY_FILE) keys the audit chain; SYNCD_CHECKPOINT_DIR receives its signed heads."`
	Run        runCmd        `cmd:"" help:"Run the daemon: watch, schedule, apply or report."`
	Drift      driftGroup    `cmd:"" help:"List open drifts from the audit store, or accept one into git (drift accept)."`
	Audit      auditCmd      `cmd:"" help:"Query, verify or checkpoint the audit log."`
	Import     importCmd     `cmd:"" help:"Write manifests for existing live objects."`
	Inventory  inventoryCmd  `cmd:"" help:"List, forget or bind the remote objects syncd manages."`
	Migrate    migrateCmd    `cmd:"" help:"Apply database migrations."`
	Schema     schemaCmd     `cmd:"" help:"Print the JSON Schema (draft-07) of the manifest format, for editors."`
	Completion completionCmd `cmd:"" help:"Print a shell completion script: bash, zsh or fish."`
	Emulator   emulatorCmd   `cmd:"" help:"Serve both platform APIs from memory, for tests and demos."`
	Version    versionCmd    `cmd:"" help:"Print the version, the commit and the Go version."`
}

// Globals are flags every command accepts.
type Globals struct {
	LogFormat string      `name:"log-format" enum:"text,json" default:"text" env:"SYNCD_LOG_FORMAT" help:"Log format: text or json."`
	LogLevel  string      `name:"log-level" enum:"debug,info,warn,error" default:"info" env:"SYNCD_LOG_LEVEL" help:"Log level."`
	Version   versionFlag `name:"version" help:"Print the version, the commit and the Go version, and exit."`

	Loader loaderFlags `embed:""`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

// run parses args and runs the command, returning the exit code.
func run(ctx context.Context, args []string) int {
	var c cli
	withPlatformFlags(reflect.ValueOf(&c))
	parser, err := kong.New(&c,
		kong.Name("syncd"),
		kong.Description("syncd keeps Make connections and Patchworks connectors in git."),
		kong.UsageOnError(),
		importVars(),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Exit(func(code int) { panic(exitPanic(code)) }),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncd:", err)
		return 1
	}
	code := -1
	func() {
		defer func() {
			if r := recover(); r != nil {
				if ec, ok := r.(exitPanic); ok {
					code = int(ec)
					return
				}
				panic(r)
			}
		}()
		kctx, perr := parser.Parse(args)
		if perr != nil {
			fmt.Fprintln(os.Stderr, "syncd:", perr)
			code = 1
			return
		}
		if rerr := kctx.Run(&c.Globals); rerr != nil {
			var ee *exitError
			if errors.As(rerr, &ee) {
				if ee.err != nil {
					fmt.Fprintln(os.Stderr, "syncd:", ee.err)
				}
				code = ee.code
				return
			}
			fmt.Fprintln(os.Stderr, "syncd:", rerr)
			code = 1
			return
		}
		code = 0
	}()
	return code
}

// exitPanic lets kong's --help exit unwind through run so tests can call it.
type exitPanic int
