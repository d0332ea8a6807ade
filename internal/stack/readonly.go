package stack

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/pgstore"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
)

// Unkeyed is the key used when neither SYNCD_HMAC_KEY nor a database is
// configured (a plan in pull-request CI): hashes then only compare values
// within one run and are never stored.
const Unkeyed = "syncd-unkeyed-plan"

// PlanConfig is what a read-only planning stack is built from.
type PlanConfig struct {
	Platforms platform.Config
	// DatabaseURL is where the inventory is read; "" plans without one
	// (the plan says so, planner.NoInventoryNote).
	DatabaseURL string
	// CheckURL checks DatabaseURL's form first (pgstore.CheckDatabaseURL),
	// so that a malformed URL is named before anything connects.
	CheckURL bool
	// HMACKey keys the hashes of secrets (SYNCD_HMAC_KEY); nil takes the
	// key kept in the database, or Unkeyed when there is none.
	HMACKey []byte
	Logger  *slog.Logger
}

// Planner is the read-only stack of `syncd plan` and `syncd drift accept`:
// the platform clients, an engine and the inventory as read. It never
// migrates and never creates the HMAC key, so a SELECT-only role is
// enough; it has nothing that records.
type Planner struct {
	Engine      *engine.Engine
	Bindings    map[syncd.Key]syncd.Binding
	NoInventory bool // no database was given
	// NoKeyYet: the database has no HMAC key yet and none was given.
	NoKeyYet bool
}

// OpenPlanner builds the read-only planning stack.
func OpenPlanner(ctx context.Context, c PlanConfig) (*Planner, error) {
	providers, err := engine.Providers(c.Platforms)
	if err != nil {
		return nil, err
	}
	key := c.HMACKey
	p := &Planner{Bindings: map[syncd.Key]syncd.Binding{}, NoInventory: c.DatabaseURL == ""}
	if !p.NoInventory {
		if c.CheckURL {
			if err := pgstore.CheckDatabaseURL(c.DatabaseURL); err != nil {
				return nil, err
			}
		}
		inv, kept, err := state.ReadInventory(ctx, c.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("read inventory: %w", err)
		}
		p.Bindings = inv
		switch {
		case key != nil:
		case kept != nil:
			key = kept
		default:
			p.NoKeyYet = true
		}
	}
	if key == nil {
		key = []byte(Unkeyed)
	}
	p.Engine = &engine.Engine{Providers: providers, Hasher: syncd.NewHasher(key), Logger: c.Logger}
	return p, nil
}

// Reader is the read-only audit log and state store of `syncd audit`,
// `audit verify`, `audit checkpoint`, `drift` and `inventory list`:
// queries only, no spool, no background loop, read-only sessions, and no
// method that writes or migrates.
type Reader struct {
	store *audit.Store
	state *state.Store
}

// OpenReader opens the audit log, and the state store on its connection,
// for queries only; it fails with audit.ErrSchemaBehind when the database
// lacks migrations.
func OpenReader(ctx context.Context, databaseURL string, log *slog.Logger) (*Reader, error) {
	s, err := audit.Open(ctx, databaseURL, audit.Options{ReadOnly: true, Logger: log})
	if err != nil {
		return nil, err
	}
	return &Reader{store: s, state: state.New(s.DB(), nil, nil)}, nil
}

// Close closes the store.
func (r *Reader) Close() error { return r.store.Close() }

// Events returns the matching audit events in the order they were recorded.
func (r *Reader) Events(ctx context.Context, f audit.Filter) ([]audit.StoredEvent, error) {
	return r.store.Events(ctx, f)
}

// VerifyWith checks the audit hash chain.
func (r *Reader) VerifyWith(ctx context.Context, opts audit.VerifyOptions) (audit.VerifyReport, error) {
	return r.store.VerifyWith(ctx, opts)
}

// Head returns the head of the audit hash chain.
func (r *Reader) Head(ctx context.Context) (audit.Checkpoint, error) { return r.store.Head(ctx) }

// OpenDrifts lists the open drift episodes, oldest first.
func (r *Reader) OpenDrifts(ctx context.Context) ([]audit.Drift, error) {
	return r.store.OpenDrifts(ctx)
}

// StuckResources lists the resources the daemon holds back.
func (r *Reader) StuckResources(ctx context.Context) ([]audit.StuckResource, error) {
	return r.store.StuckResources(ctx)
}

// Inventory lists the inventory.
func (r *Reader) Inventory(ctx context.Context) ([]state.InventoryEntry, error) {
	return r.state.Inventory(ctx)
}
