package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/syncd/syncd/internal/observe"
	makeapi "github.com/syncd/syncd/internal/observe/make"
	"github.com/syncd/syncd/internal/observe/patchworks"
	"github.com/syncd/syncd/internal/observe/transport"
	"github.com/syncd/syncd/internal/syncd"
)

// Config is how to reach the platforms (SPEC §5 configuration).
type Config struct {
	MakeURL, MakeZone, MakeToken   string
	PatchworksURL, PatchworksToken string
	MakeRPM, PatchworksRPM         int
	// MakeQuotaShare and PatchworksQuotaShare cap syncd's share of each
	// platform's per-minute limit, in (0, 1]; 0 means all of it (the CLI
	// defaults to transport.DefaultQuotaShare).
	MakeQuotaShare, PatchworksQuotaShare float64
	Concurrency                          int
	// Burst is unused: the transport bursts up to the minute's allowance.
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
func Providers(cfg Config) (map[syncd.Kind]observe.Provider, error) {
	out := map[syncd.Kind]observe.Provider{}
	if cfg.MakeURL != "" || cfg.MakeZone != "" {
		if cfg.MakeToken == "" {
			return nil, errors.New("make: SYNCD_MAKE_TOKEN is not set")
		}
		c, err := makeapi.New(makeapi.Config{
			BaseURL: cfg.MakeURL, Zone: cfg.MakeZone, Token: cfg.MakeToken,
			RequestsPerMinute: cfg.MakeRPM, QuotaShare: cfg.MakeQuotaShare, MaxConcurrency: cfg.Concurrency,
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
			RequestsPerMinute: cfg.PatchworksRPM, QuotaShare: cfg.PatchworksQuotaShare, MaxConcurrency: cfg.Concurrency,
			Timeout: cfg.Timeout, Retry: cfg.Retry, HTTPClient: cfg.HTTPClient, Logger: cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("patchworks: %w", err)
		}
		out[syncd.PatchworksConnector] = c
	}
	return out, nil
}

// Transports returns the HTTP layer of every configured platform client,
// by platform name, for pacing estimates (ETA, Allowance).
func (e *Engine) Transports() map[string]*transport.Client {
	out := map[string]*transport.Client{}
	for _, k := range syncd.Kinds {
		if p, ok := e.Providers[k]; ok {
			if t, ok := p.(interface{ Transport() *transport.Client }); ok {
				out[t.Transport().Platform()] = t.Transport()
			}
		}
	}
	return out
}
