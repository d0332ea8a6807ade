package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/pglock"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/stack"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/watch"
)

// inventoryCmd is Terraform's state list / rm / import for syncd's
// inventory: which remote object each resource is bound to.
type inventoryCmd struct {
	List   inventoryListCmd   `cmd:"" help:"List the remote objects syncd manages (read-only; a SELECT-only role is enough)."`
	Forget inventoryForgetCmd `cmd:"" help:"Stop managing KIND/NAME without deleting its remote object (audited)."`
	Bind   inventoryBindCmd   `cmd:"" help:"Bind KIND/NAME to the live object REMOTE_ID (audited); refuses a remote id already bound."`
}

type inventoryListCmd struct {
	databaseFlag
	Format string `name:"format" enum:"text,json" default:"text" help:"Output format: text or json."`

	out io.Writer `kong:"-"`
}

func (c *inventoryListCmd) Run(ctx context.Context, g *Globals) error {
	store, err := c.openReader(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	entries, err := store.Inventory(ctx)
	if err != nil {
		return err
	}
	w := writerOr(c.out)
	if c.Format == "json" {
		return writeInventoryJSON(w, entries)
	}
	return writeInventoryText(w, entries)
}

// inventoryJSON is the stable JSON shape of one inventory row.
type inventoryJSON struct {
	Kind          syncd.Kind `json:"kind"`
	Name          string     `json:"name"`
	RemoteID      string     `json:"remote_id"`
	HashedSecrets int        `json:"hashed_secrets"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func writeInventoryJSON(w io.Writer, entries []state.InventoryEntry) error {
	out := make([]inventoryJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, inventoryJSON{Kind: e.Key.Kind, Name: e.Key.Name, RemoteID: e.RemoteID, HashedSecrets: e.Hashes,
			CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeInventoryText(w io.Writer, entries []state.InventoryEntry) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "The inventory is empty: syncd has created or adopted nothing yet.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tREMOTE ID\tHASHED SECRETS\tUPDATED")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", e.Key, e.RemoteID, e.Hashes, e.UpdatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

type inventoryForgetCmd struct {
	databaseFlag
	spoolFlag
	LockTimeout time.Duration `name:"lock-timeout" default:"0s" help:"How long to wait for the apply lock held by a daemon in apply mode or an apply."`
	Resource    string        `arg:"" name:"KIND/NAME" help:"The resource to stop managing."`
}

func (c *inventoryForgetCmd) Run(ctx context.Context, g *Globals) error {
	log := newLogger(g, os.Stderr)
	key, err := parseKey(c.Resource)
	if err != nil {
		return err
	}
	store, release, err := openInventoryWriter(ctx, log, c.databaseFlag, c.spoolFlag, c.LockTimeout)
	if err != nil {
		return err
	}
	defer release()
	b, err := store.Forget(ctx, key, inventoryEvent(""))
	if err != nil {
		if errors.Is(err, state.ErrNotBound) {
			return fmt.Errorf("%s is not in the inventory (see `syncd inventory list`)", key)
		}
		return err
	}
	fmt.Printf("Forgot %s (remote id %s): syncd no longer manages it and left the remote object as it is.\n", key, b.RemoteID)
	fmt.Println("While its manifest stays, the next plan finds the object again by externalId or natural key and adopts it: remove or change the manifest to let it go.")
	return nil
}

type inventoryBindCmd struct {
	manifestsFlag
	platformFlags
	databaseFlag
	spoolFlag
	LockTimeout time.Duration `name:"lock-timeout" default:"0s" help:"How long to wait for the apply lock held by a daemon in apply mode or an apply."`
	Resource    string        `arg:"" name:"KIND/NAME" help:"The resource (its manifest must exist) to bind."`
	RemoteID    string        `arg:"" name:"REMOTE_ID" help:"The live object: a Make connection name, a Patchworks connector id."`
}

func (c *inventoryBindCmd) Run(ctx context.Context, g *Globals) error {
	log := newLogger(g, os.Stderr)
	key, err := parseKey(c.Resource)
	if err != nil {
		return err
	}
	if err := c.manifestsFlag.check(); err != nil {
		return err
	}
	set, loadErr := desired.Load(c.Manifests, g.Loader.options())
	if set == nil {
		return loadErr
	}
	var d *syncd.Desired
	for _, r := range set.Resources {
		if r.Key == key {
			d = r
		}
	}
	if d == nil {
		printLoadErrors(set)
		return fmt.Errorf("%s: no manifest in %s declares it; bind only a resource you manage (a bound object without a manifest is pruned)", key, c.Manifests)
	}
	providers, err := engine.Providers(c.platformFlags.config(log))
	if err != nil {
		return err
	}
	store, release, err := openInventoryWriter(ctx, log, c.databaseFlag, c.spoolFlag, c.LockTimeout)
	if err != nil {
		return err
	}
	defer release()
	// The cheap refusals first (BindRemote checks again, atomically).
	bindings, err := store.Bindings(ctx)
	if err != nil {
		return err
	}
	for k, b := range bindings {
		if k.Kind == key.Kind && b.RemoteID == c.RemoteID {
			return fmt.Errorf("%s %s is bound to %s: %w (run `syncd inventory forget %s` first)", key.Kind, c.RemoteID, k, state.ErrAlreadyBound, k)
		}
	}
	if b, ok := bindings[key]; ok {
		return fmt.Errorf("%s is bound to %s: %w (run `syncd inventory forget %s` first)", key, b.RemoteID, state.ErrAlreadyBound, key)
	}
	if err := checkRemote(ctx, providers, d, c.RemoteID); err != nil {
		return err
	}
	if err := store.BindRemote(ctx, key, c.RemoteID, inventoryEvent(watch.Revision(c.Manifests))); err != nil {
		return err
	}
	fmt.Printf("Bound %s to %s. `syncd plan` shows what syncd would change on it; write-only secrets are written once by the next apply.\n", key, c.RemoteID)
	return nil
}

// checkRemote reads the live object remoteID, the way a plan would, and
// fails unless it exists (and, on Make, belongs to the manifest's app).
func checkRemote(ctx context.Context, providers map[syncd.Kind]platform.Provider, d *syncd.Desired, remoteID string) error {
	eng := &engine.Engine{Providers: providers}
	if err := eng.Preflight(ctx); err != nil {
		return err
	}
	live, _, err := eng.Observe(ctx, map[syncd.Kind][]platform.Want{d.Key.Kind: {{Desired: d, RemoteID: remoteID}}})
	if err != nil {
		return err
	}
	for _, l := range live {
		if l.RemoteID != remoteID {
			continue
		}
		if pl, ok := registry.For(d.Key.Kind); ok {
			return pl.CheckBind(d, l)
		}
		return nil
	}
	return fmt.Errorf("%s %s: no such live object", d.Key.Kind, remoteID)
}

// openInventoryWriter opens the state store (and the audit log that
// records its changes) for a change of the inventory, holding the apply
// lock so that no apply writes it meanwhile.
func openInventoryWriter(ctx context.Context, log *slog.Logger, db databaseFlag, sf spoolFlag, lockTimeout time.Duration) (*state.Store, func(), error) {
	url, err := db.requireDatabase()
	if err != nil {
		return nil, nil, err
	}
	admin, err := stack.OpenAdmin(ctx, url, audit.Options{SpoolDir: sf.SpoolDir, Logger: log, Migrate: true})
	if err != nil {
		return nil, nil, fmt.Errorf("audit store: %w", err)
	}
	unlock, err := pglock.AcquireApplyLock(ctx, url, lockTimeout)
	if err != nil {
		admin.Discard()
		return nil, nil, err
	}
	return admin.State, func() {
		unlock()
		admin.Close()
	}, nil
}

// inventoryEvent is the audit event of an inventory command, which runs
// outside any run (no run id); the store fills in its type, the resource,
// the action and the outcome.
func inventoryEvent(revision string) syncd.Event {
	run := syncd.Run{Mode: syncd.ModeApply, Actor: actorName(), ManifestRevision: revision}
	return run.Event(nowUTC(), "", syncd.Key{}, "", "", nil, "", "")
}

// parseKey reads KIND/NAME; the kind is case-insensitive.
func parseKey(s string) (syncd.Key, error) {
	kind, name, ok := strings.Cut(s, "/")
	if ok && name != "" {
		for _, k := range registry.Kinds() {
			if strings.EqualFold(kind, string(k)) {
				return syncd.Key{Kind: k, Name: name}, nil
			}
		}
	}
	return syncd.Key{}, fmt.Errorf("%q: want KIND/NAME with KIND one of %s", s, syncd.KindList(registry.Kinds(), ", "))
}
