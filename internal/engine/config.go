package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/syncd/syncd/internal/platform"
	makeplatform "github.com/syncd/syncd/internal/platform/make"
	"github.com/syncd/syncd/internal/platform/patchworks"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/syncd"
)

// Config is how to reach the platforms (SPEC §5 configuration).
type Config struct {
	MakeURL, MakeZone, MakeToken   string
	PatchworksURL, PatchworksToken string
	MakeRPM, PatchworksRPM         int
	Concurrency                    int
	// Burst lets the rate limiter send this many requests at once
	// (default 1: evenly paced).
	Burst int
	// Timeout and Retry tune the transport (zero: its defaults).
	Timeout    time.Duration
	Retry      transport.Retry
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Providers builds a client for every platform that is configured. A
// platform with neither URL nor zone is left out; planning a resource of
// its kind then fails with a clear error.
func Providers(cfg Config) (map[syncd.Kind]platform.Provider, error) {
	out := map[syncd.Kind]platform.Provider{}
	if cfg.MakeURL != "" || cfg.MakeZone != "" {
		if cfg.MakeToken == "" {
			return nil, errors.New("make: SYNCD_MAKE_TOKEN is not set")
		}
		c, err := makeplatform.New(makeplatform.Config{
			BaseURL: cfg.MakeURL, Zone: cfg.MakeZone, Token: cfg.MakeToken,
			RequestsPerMinute: cfg.MakeRPM, MaxConcurrency: cfg.Concurrency, Burst: cfg.Burst,
			Timeout: cfg.Timeout, Retry: cfg.Retry, HTTPClient: cfg.HTTPClient, Logger: cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("make: %w", err)
		}
		out[syncd.MakeConnection] = c
	}
	if cfg.PatchworksURL != "" {
		if cfg.PatchworksToken == "" {
			return nil, errors.New("patchworks: SYNCD_PATCHWORKS_TOKEN is not set")
		}
		c, err := patchworks.New(patchworks.Config{
			BaseURL: cfg.PatchworksURL, Token: cfg.PatchworksToken,
			RequestsPerMinute: cfg.PatchworksRPM, MaxConcurrency: cfg.Concurrency, Burst: cfg.Burst,
			Timeout: cfg.Timeout, Retry: cfg.Retry, HTTPClient: cfg.HTTPClient, Logger: cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("patchworks: %w", err)
		}
		out[syncd.PatchworksConnector] = c
	}
	return out, nil
}
