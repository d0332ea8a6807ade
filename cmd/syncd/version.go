package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/alecthomas/kong"
)

// version and commit may be set at link time (-X main.version=…, as
// `make build` does); otherwise they come from the build info.
var (
	version = ""
	commit  = ""
)

// buildInfo is what `syncd version` prints.
type buildInfo struct {
	Version, Commit, GoVersion string
	Modified                   bool
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: "unknown"}
	if info, ok := debug.ReadBuildInfo(); ok {
		b.GoVersion = info.GoVersion
		if b.Version == "" && info.Main.Version != "" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

func writeVersion(w io.Writer) {
	b := readBuildInfo()
	c := b.Commit
	if b.Modified {
		c += " (modified)"
	}
	fmt.Fprintf(w, "syncd %s\ncommit %s\n%s\n", b.Version, c, b.GoVersion)
}

type versionCmd struct{}

func (versionCmd) Run() error {
	writeVersion(os.Stdout)
	return nil
}

// versionFlag is --version: print the version and exit 0.
type versionFlag bool

func (versionFlag) BeforeApply(app *kong.Kong) error {
	writeVersion(app.Stdout)
	app.Exit(0)
	return nil
}
