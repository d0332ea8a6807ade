package platform

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/syncd/syncd/internal/platform/manifest"
	"github.com/syncd/syncd/internal/syncd"
)

// Platform is everything the core knows about one platform. Each platform
// implements it in its own folder (platform/make, platform/patchworks) and
// is listed once in platform/registry; the core iterates the registry and
// never names a platform. A method a new platform lacks is a compile error,
// not a silent default.
//
// The emulator (internal/emulator) stays a standard-library-only package so
// that it checks the wire format independently of these clients; each
// platform's doc names its emulator file.
type Platform interface {
	// Rules are the kind's identity, comparison and sensitivity rules; the
	// planner receives them through its input.
	syncd.Rules

	// Format is the kind's manifest format: its spec's decoding, its part
	// of the JSON Schema, and how an import writes it.
	manifest.Format

	// Name is the platform's name in request stats, metrics and errors
	// ("make"); Title is its name for people ("Make").
	Name() string
	Title() string

	// NewProvider builds the platform's client from cfg: the common part
	// and its own values, cfg.Values(Name()). It returns nil and no error
	// when cfg does not configure the platform at all (planning a
	// resource of its kind then fails with NotConfigured), and an error when
	// it is configured incompletely.
	NewProvider(cfg Config) (Provider, error)

	// Setup names the settings that configure the platform, for the error
	// shown when a resource of its kind meets an unconfigured platform.
	Setup() string
	// Settings are the platform's settings, from which the CLI builds its
	// flags (name, environment variable, default, help).
	Settings() []Setting

	// EstimateRequests is about how many requests a plan of these specs
	// (of this kind) makes, preflight included, for the progress line's
	// estimate; 0 for none.
	EstimateRequests(specs []map[string]any) int

	// CheckBind says why the live object l cannot be bound to d (a Make
	// connection of another app than spec.app), nil when it can.
	CheckBind(d *syncd.Desired, l syncd.Live) error

	// ImportScopeHelp is the help of import's --app for this platform
	// ("" when an import of it has no scope).
	ImportScopeHelp() string
	// CheckImportScope says what is wrong with an import's scope (--app),
	// nil when nothing.
	CheckImportScope(scope string) error
	// Import reads every object of scope from p (this platform's provider)
	// for `syncd import`, at most concurrency requests at a time, sorted by
	// RemoteID, with the raw text of the parts an import writes as files
	// of their own.
	Import(ctx context.Context, p Provider, scope string, concurrency int) ([]Imported, error)
}

// Imported is a live object an import writes, and the parts of it kept as
// the platform returned their text (Make's sections, comments included), in
// the platform's order.
type Imported struct {
	Live syncd.Live
	Raw  []RawPart
}

// RawPart is one part of an imported object, written as {$file: ...}.
type RawPart struct {
	Name string // the part (a Make section)
	Text string
}

// Setting is one setting a platform declares: the CLI makes a flag of it,
// read from its environment variable too, and puts the parsed value in
// Config.Settings under the platform's name and the setting's Flag, where
// the platform's NewProvider reads it.
type Setting struct {
	Flag    string // the flag's name, without "--"; the value's key in Values
	Env     string // its environment variable
	Default string // "" when none
	Help    string
	Hidden  bool // a token: read from the environment, not shown in --help
	Kind    SettingKind
	// Rank places it among every platform's settings in --help: first
	// where to reach each platform (0), then each one's pace (1), then each
	// one's quota share (2); the registry's order within a rank.
	Rank int
}

// SettingKind is a setting's type.
type SettingKind int

const (
	SettingString SettingKind = iota
	SettingInt
	// SettingShare is a float64 in (0, 1].
	SettingShare
)

// String names the kind's Go type.
func (k SettingKind) String() string {
	switch k {
	case SettingInt:
		return "int"
	case SettingShare:
		return "float64"
	}
	return "string"
}

// Retry is the retry policy for idempotent requests; zero fields take the
// transport's defaults.
type Retry struct {
	MaxAttempts   int           // attempts in all, first included; 1 disables retries
	BaseDelay     time.Duration // first backoff before jitter
	MaxDelay      time.Duration // backoff cap
	MaxRetryAfter time.Duration // longest Retry-After obeyed
}

// Config is how to reach the platforms (SPEC §5 configuration): what
// every platform shares, and each platform's own settings values.
type Config struct {
	// Settings are each platform's settings values by its Name; a
	// platform with none (or an empty URL) is not configured.
	Settings    map[string]Values
	Concurrency int
	// Burst is unused: the transport bursts up to the minute's allowance.
	Burst int
	// Timeout and Retry tune the transport (zero: its defaults).
	Timeout    time.Duration
	Retry      Retry
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Values are one platform's settings values by their Setting.Flag: a
// string, an int or a float64, by the setting's Kind. A value not set
// reads as its type's zero value.
type Values map[string]any

// String is the string setting flag ("" when not set).
func (v Values) String(flag string) string { s, _ := v[flag].(string); return s }

// Int is the int setting flag (0 when not set).
func (v Values) Int(flag string) int { n, _ := v[flag].(int); return n }

// Float is the float64 setting flag (0 when not set).
func (v Values) Float(flag string) float64 { x, _ := v[flag].(float64); return x }

// Values are the settings values of the platform named name (nil when
// none).
func (c Config) Values(name string) Values { return c.Settings[name] }

// Set sets the platform named name's values vals, keeping its others. It
// copies Settings first, so that a copy of c made before is not changed.
func (c *Config) Set(name string, vals Values) {
	settings := maps.Clone(c.Settings)
	if settings == nil {
		settings = map[string]Values{}
	}
	merged := maps.Clone(settings[name])
	if merged == nil {
		merged = Values{}
	}
	maps.Copy(merged, vals)
	settings[name] = merged
	c.Settings = settings
}
