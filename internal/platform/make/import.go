package make

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// ImportScopeHelp: --app names the app.
func (Platform) ImportScopeHelp() string {
	return "Make SDK app whose connections to import (required for MakeConnection)."
}

// CheckImportScope: an import reads one app's connections.
func (Platform) CheckImportScope(app string) error {
	if app == "" {
		return errors.New("--app is required for MakeConnection")
	}
	return nil
}

// Import reads every connection of app faithfully: each section's raw text
// as Make returned it, so that its comments survive in the imported files.
func (Platform) Import(ctx context.Context, p platform.Provider, app string, concurrency int) ([]platform.Imported, error) {
	c, ok := p.(*Client)
	if !ok {
		// Another provider (a test's) has no raw text: its listing.
		live, err := p.ListAll(ctx, app)
		out := make([]platform.Imported, len(live))
		for i, l := range live {
			out[i] = platform.Imported{Live: l}
		}
		return out, err
	}
	objs, err := importMake(ctx, c, app, concurrency)
	if err != nil {
		return nil, err
	}
	out := make([]platform.Imported, len(objs))
	for i, o := range objs {
		out[i] = platform.Imported{Live: o.live}
		for _, s := range Sections {
			if raw, ok := o.raw[s]; ok {
				out[i].Raw = append(out[i].Raw, platform.RawPart{Name: s, Text: raw})
			}
		}
	}
	return out, nil
}

// importedObject is a live object to import and the raw text of each
// section as Make returned it (comments and layout included).
type importedObject struct {
	live syncd.Live
	raw  map[string]string
}

// importMake reads every connection of app with all its sections, its
// common data and its connected system name, keeping each section's raw
// text: the same requests as the provider's ListAll (a list, then per
// connection one GET, one per section and one for common).
func importMake(ctx context.Context, c *Client, app string, concurrency int) ([]importedObject, error) {
	conns, err := c.ListConnections(ctx, app)
	if platform.IsNotFound(err) {
		// The provider words this error (app, URL, what to check); ask it
		// (one more request, only on this error).
		_, err := c.ListAll(ctx, app)
		if err == nil {
			err = fmt.Errorf("make: app %s: its connection list answered 404", app)
		}
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("make: list connections of app %s: %w", app, err)
	}
	out := make([]importedObject, len(conns))
	gone := make([]bool, len(conns))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for i, conn := range conns {
		sections := map[string]any{}
		spec := map[string]any{"app": app, "type": conn.Type, "label": conn.Label, "sections": sections}
		out[i] = importedObject{live: syncd.Live{Kind: syncd.MakeConnection, RemoteID: conn.Name, Spec: spec}, raw: map[string]string{}}
		run := func(what string, f func() error) {
			g.Go(func() error {
				err := f()
				if platform.IsNotFound(err) {
					// Deleted while we read it (Make deletes asynchronously).
					mu.Lock()
					gone[i] = true
					mu.Unlock()
					return nil
				}
				if err != nil {
					return fmt.Errorf("make: get %s of connection %s: %w", what, conn.Name, err)
				}
				return nil
			})
		}
		run("connection", func() error {
			full, err := c.GetConnection(gctx, conn.Name)
			if err == nil {
				mu.Lock()
				if full.ConnectedSystemName == nil {
					spec["connectedSystemName"] = nil
				} else {
					spec["connectedSystemName"] = *full.ConnectedSystemName
				}
				mu.Unlock()
			}
			return err
		})
		for _, s := range Sections {
			run("section "+s, func() error {
				raw, v, err := c.GetSection(gctx, conn.Name, s)
				if err == nil {
					mu.Lock()
					sections[s] = v
					if t := strings.TrimSpace(raw); t != "" && t != "null" {
						// A legacy null section is written inline as the
						// empty value of its shape instead.
						out[i].raw[s] = raw
					}
					mu.Unlock()
				}
				return err
			})
		}
		run("common data", func() error {
			m, err := c.GetCommon(gctx, conn.Name)
			if err == nil && m != nil {
				mu.Lock()
				spec["common"] = m
				mu.Unlock()
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var kept []importedObject
	for i, o := range out {
		if !gone[i] {
			kept = append(kept, o)
		}
	}
	slices.SortFunc(kept, func(a, b importedObject) int { return strings.Compare(a.live.RemoteID, b.live.RemoteID) })
	return kept, nil
}
