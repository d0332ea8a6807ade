package patchworks

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/syncd"
)

var _ platform.Provider = (*Client)(nil)

func (c *Client) Kind() syncd.Kind { return syncd.PatchworksConnector }

var withVariables = []string{"variables"}

// variableFields are the fields of a variable in a canonical spec; the
// variable's own id is server-assigned and dropped.
var variableFields = []string{"key", "value", "label", "secret", "locked", "pivot"}

// pivotServerFields are the link table's own columns, not configuration.
var pivotServerFields = []string{"id", "connector_id", "variable_id", "created_at", "updated_at"}

// serverFields are assigned by Patchworks and never written.
var serverFields = []string{"id", "created_at", "updated_at"}

// Spec turns a connector as the API returns it into the canonical spec:
// ids that name other objects as strings, numbers that arrived as text as
// numbers, variables as an object keyed by key. Secret values stay null.
// conn is left as it was.
func Spec(conn Connector) map[string]any {
	return canonical(cloneJSON(conn).(map[string]any))
}

// canonical rewrites conn, which the caller owns (a connector just
// decoded), into the canonical spec and returns it. Rewriting in place
// instead of copying halves what a listing of thousands of connectors
// holds while it is turned into specs.
func canonical(conn Connector) map[string]any {
	for _, k := range []string{"authentication_implementation_id", "certificate_id"} {
		if v, ok := conn[k]; ok && v != nil {
			conn[k] = IDString(v)
		}
	}
	for _, k := range []string{"rate_limit_duration", "connection_pool_id"} {
		if s, ok := conn[k].(string); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				conn[k] = f
			}
		}
	}
	if v, ok := conn["variables"]; ok {
		conn["variables"] = variablesObject(v)
	}
	return conn
}

// variablesObject keys the variables by key, keeping only variableFields
// and the pivot's own settings. The entries are rewritten in place.
func variablesObject(v any) map[string]any {
	out := map[string]any{}
	add := func(key string, x any) {
		m, ok := x.(map[string]any)
		if !ok {
			return
		}
		if k, ok := m["key"].(string); ok {
			key = k
		}
		if key == "" {
			return
		}
		for f := range m {
			if !slices.Contains(variableFields, f) {
				delete(m, f)
			}
		}
		m["key"] = key
		if p, ok := m["pivot"].(map[string]any); ok {
			for _, f := range pivotServerFields {
				delete(p, f)
			}
		}
		out[key] = m
	}
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			add("", x)
		}
	case map[string]any:
		for k, x := range v {
			add(k, x)
		}
	}
	return out
}

// cloneJSON copies a decoded JSON value deeply.
func cloneJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, x := range t {
			c[k] = cloneJSON(x)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, x := range t {
			c[i] = cloneJSON(x)
		}
		return c
	}
	return v
}

// live turns a connector just read, which it rewrites, into a Live.
func live(conn Connector) syncd.Live {
	return syncd.Live{Kind: syncd.PatchworksConnector, RemoteID: IDString(conn["id"]), Spec: canonical(conn)}
}

func sortLive(l []syncd.Live) {
	sort.Slice(l, func(i, j int) bool {
		a, b := l[i].RemoteID, l[j].RemoteID
		if len(a) != len(b) { // numeric ids sort numerically
			return len(a) < len(b)
		}
		return a < b
	})
}

// manifests finds the manifest a live connector matches, by RemoteID or
// by name, so that fields read equal to the manifest's share its memory
// (see syncd.ShareDesired): a listing holds every connector in full.
type manifests struct {
	byID, byName map[string]*syncd.Desired
}

func likeManifests(wants []platform.Want) manifests {
	m := manifests{byID: map[string]*syncd.Desired{}, byName: map[string]*syncd.Desired{}}
	for _, w := range wants {
		if w.Desired == nil {
			continue
		}
		if w.RemoteID != "" {
			m.byID[w.RemoteID] = w.Desired
		}
		if name := (Rules{}).NaturalKey(w.Desired.Spec); name != "" {
			m.byName[name] = w.Desired
		}
	}
	return m
}

func (m manifests) share(l syncd.Live) syncd.Live {
	d := m.byID[l.RemoteID]
	if d == nil {
		d = m.byName[(Rules{}).NaturalKey(l.Spec)]
	}
	if d != nil {
		syncd.ShareDesired(l.Spec, d.Spec) // l.Spec keeps its server-only fields: never whole
	}
	return l
}

// Observe lists every connector with its variables, 100 per page, and GETs
// only the RemoteIDs the listing did not show (a clean 404 makes them Gone).
func (c *Client) Observe(ctx context.Context, wants []platform.Want) (platform.Snapshot, error) {
	conns, err := c.ListAllConnectors(ctx, ListOptions{Include: withVariables})
	if err != nil {
		return platform.Snapshot{}, fmt.Errorf("patchworks: list connectors: %w", err)
	}
	like := likeManifests(wants)
	listed := map[string]bool{}
	var snap platform.Snapshot
	for _, conn := range conns {
		l := like.share(live(conn))
		listed[l.RemoteID] = true
		snap.Objects = append(snap.Objects, l)
	}
	var missing []string
	for _, w := range wants {
		if w.RemoteID != "" && !listed[w.RemoteID] && !slices.Contains(missing, w.RemoteID) {
			missing = append(missing, w.RemoteID)
		}
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	for _, id := range missing {
		g.Go(func() error {
			conn, err := c.GetConnector(gctx, id, withVariables)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case platform.IsNotFound(err):
				snap.Gone = append(snap.Gone, id)
			case err != nil:
				return fmt.Errorf("patchworks: get connector %s: %w", id, err)
			default:
				snap.Objects = append(snap.Objects, like.share(live(conn)))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return platform.Snapshot{}, err
	}
	sortLive(snap.Objects)
	slices.Sort(snap.Gone)
	return snap, nil
}

// Lookup returns the connectors named like d. The API has no name filter,
// so it reads the whole list.
func (c *Client) Lookup(ctx context.Context, d *syncd.Desired) ([]syncd.Live, error) {
	name, _ := d.Spec["name"].(string)
	conns, err := c.ListAllConnectors(ctx, ListOptions{Include: withVariables})
	if err != nil {
		return nil, fmt.Errorf("patchworks: look up connector %q: %w", name, err)
	}
	var out []syncd.Live
	for _, conn := range conns {
		if n, _ := conn["name"].(string); n == name {
			out = append(out, live(conn))
		}
	}
	sortLive(out)
	return out, nil
}

// variablesList turns the canonical variables object into the API's list,
// sorted by key; with connector set, known variable ids are added so the
// update changes those variables rather than adding new ones.
func (c *Client) variablesList(v any, connector string) []any {
	m, _ := v.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		e := map[string]any{}
		if src, ok := m[k].(map[string]any); ok {
			for f, fv := range src {
				e[f] = fv
			}
		}
		e["key"] = k
		if connector != "" {
			if id, ok := c.vars.get(connector, k); ok {
				e["id"] = id
			}
		}
		out = append(out, e)
	}
	return out
}

// undeclaredVariables names, by id and key only, every variable the
// connector has now and the manifest does not declare. Whether a PUT's
// variables list merges into the connector's or replaces it is not
// documented (API-NOTES); sent this way, the variables syncd does not
// manage survive either way with their values, secret ones included,
// which syncd could not send back because it cannot read them. The
// connector is read just before the write so that a variable added since
// the plan's read is kept too.
func (c *Client) undeclaredVariables(ctx context.Context, remoteID string, d *syncd.Desired) ([]any, error) {
	conn, err := c.GetConnector(ctx, remoteID, withVariables)
	if err != nil {
		return nil, err
	}
	declared, _ := d.Spec["variables"].(map[string]any)
	live, _ := conn["variables"].([]any)
	var out []any
	for _, x := range live {
		m, ok := x.(map[string]any)
		if !ok {
			continue
		}
		key, _ := m["key"].(string)
		if _, has := declared[key]; has || key == "" {
			continue
		}
		e := map[string]any{"key": key}
		if m["id"] != nil {
			e["id"] = m["id"]
		}
		out = append(out, e)
	}
	return out, nil
}

func (c *Client) createBody(d *syncd.Desired) map[string]any {
	body := map[string]any{}
	for k, v := range d.Spec {
		if slices.Contains(serverFields, k) {
			continue
		}
		body[k] = v
	}
	if v, ok := body["variables"]; ok {
		body["variables"] = c.variablesList(v, "")
	}
	return body
}

// Create posts every declared field and the variables (as a list). After
// an ambiguous failure it looks the connector up by name before anything
// else: one found is used, none allows exactly one more POST, several is an
// error.
func (c *Client) Create(ctx context.Context, d *syncd.Desired) (string, error) {
	secrets := transport.SecretValues(d, Rules{})
	id, err := c.create(ctx, d)
	return id, transport.Redact(err, secrets)
}

func (c *Client) create(ctx context.Context, d *syncd.Desired) (string, error) {
	name, _ := d.Spec["name"].(string)
	conn, err := c.CreateConnector(ctx, c.createBody(d))
	if err == nil {
		if id := IDString(conn["id"]); id != "" {
			return id, nil
		}
		// Created, but the answer does not say which: find it.
		err = &platform.APIError{Platform: platformName, Op: "POST /connectors", Status: 200,
			Kind: platform.KindTransient, Message: "the answer has no id", Ambiguous: true}
	}
	if !platform.IsAmbiguous(err) {
		return "", fmt.Errorf("patchworks: create connector %q: %w", name, err)
	}
	found, lerr := c.Lookup(ctx, d)
	if lerr != nil {
		return "", fmt.Errorf("patchworks: create connector %q: outcome unknown (%v), and the lookup failed: %w", name, err, lerr)
	}
	switch len(found) {
	case 1:
		return found[0].RemoteID, nil
	case 0:
		conn, err2 := c.CreateConnector(ctx, c.createBody(d))
		if err2 != nil {
			return "", fmt.Errorf("patchworks: create connector %q: first attempt failed (%v), nothing was created, and the retry failed: %w", name, err, err2)
		}
		return c.createdID(name, conn)
	}
	ids := make([]string, len(found))
	for i, l := range found {
		ids[i] = l.RemoteID
	}
	return "", fmt.Errorf("patchworks: create connector %q: outcome unknown (%v), and %d connectors with that name now exist (%s): resolve by hand or set metadata.externalId", name, err, len(found), strings.Join(ids, ", "))
}

func (c *Client) createdID(name string, conn Connector) (string, error) {
	id := IDString(conn["id"])
	if id == "" {
		return "", fmt.Errorf("patchworks: create connector %q: the answer has no id", name)
	}
	return id, nil
}

// Update sends one PUT with the top-level fields the paths fall in, taken
// from d; variables go as the whole declared list with values (secret ones
// too: they cannot be read back to compare, so the caller decides by hash).
func (c *Client) Update(ctx context.Context, remoteID string, d *syncd.Desired, paths []string) error {
	body := map[string]any{}
	for _, p := range paths {
		tokens := syncd.SplitPointer(p)
		var fields []string
		if len(tokens) == 0 {
			for k := range d.Spec {
				fields = append(fields, k)
			}
		} else {
			fields = []string{tokens[0]}
		}
		for _, f := range fields {
			// Only what the update rules accept (updatableFields):
			// anything else would be dropped without an error.
			if f != "variables" && !slices.Contains(updatableFields, f) {
				continue
			}
			v, ok := d.Spec[f]
			if !ok {
				continue // no longer declared: not managed
			}
			if f == "variables" {
				v = c.variablesList(v, remoteID)
			}
			body[f] = v
		}
	}
	if len(body) == 0 {
		return nil
	}
	if list, ok := body["variables"].([]any); ok {
		kept, err := c.undeclaredVariables(ctx, remoteID, d)
		if err != nil {
			return transport.Redact(fmt.Errorf("patchworks: update connector %s: read its variables first: %w", remoteID, err), transport.SecretValues(d, Rules{}))
		}
		body["variables"] = append(list, kept...)
	}
	if _, err := c.UpdateConnector(ctx, remoteID, body); err != nil {
		return transport.Redact(fmt.Errorf("patchworks: update connector %s: %w", remoteID, err), transport.SecretValues(d, Rules{}))
	}
	return nil
}

// Delete removes a connector; one already gone is success.
func (c *Client) Delete(ctx context.Context, remoteID string) error {
	err := c.DeleteConnector(ctx, remoteID)
	if err == nil || platform.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("patchworks: delete connector %s: %w", remoteID, err)
}

// ListAll reads every connector with its variables; scope is ignored.
func (c *Client) ListAll(ctx context.Context, _ string) ([]syncd.Live, error) {
	conns, err := c.ListAllConnectors(ctx, ListOptions{Include: withVariables})
	if err != nil {
		return nil, fmt.Errorf("patchworks: list connectors: %w", err)
	}
	out := make([]syncd.Live, 0, len(conns))
	for _, conn := range conns {
		out = append(out, live(conn))
	}
	sortLive(out)
	return out, nil
}

// Test runs the connector's credential test (the executor's health probe).
func (c *Client) Test(ctx context.Context, remoteID string) error {
	if err := c.TestConnector(ctx, remoteID); err != nil {
		return fmt.Errorf("patchworks: test connector %s: %w", remoteID, err)
	}
	return nil
}

// Read reads one connector back with its variables, as Observe would
// show it: found is false after a clean 404. The executor uses it to check
// that a write took effect without listing every connector.
func (c *Client) Read(ctx context.Context, _ *syncd.Desired, remoteID string) (syncd.Live, bool, error) {
	conn, err := c.GetConnector(ctx, remoteID, withVariables)
	switch {
	case platform.IsNotFound(err):
		return syncd.Live{}, false, nil
	case err != nil:
		return syncd.Live{}, false, fmt.Errorf("patchworks: get connector %s: %w", remoteID, err)
	}
	return live(conn), true, nil
}
