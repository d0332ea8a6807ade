package make

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/syncd"
)

var _ platform.Provider = (*Client)(nil)

func (c *Client) Kind() syncd.Kind { return syncd.MakeConnection }

func str(spec map[string]any, key string) string {
	s, _ := spec[key].(string)
	return s
}

// declared is what a manifest asks to be read beyond the list's summary.
type declared struct {
	sections    map[string]bool
	hasSections bool // "sections" is in the spec, even if empty
	common      bool
	csn         bool // connectedSystemName: needs a GET
}

func declaredOf(d *syncd.Desired) declared {
	out := declared{sections: map[string]bool{}}
	if d == nil {
		return out
	}
	if secs, ok := d.Spec["sections"].(map[string]any); ok {
		out.hasSections = true
		for name := range secs {
			out.sections[name] = true
		}
	}
	_, out.common = d.Spec["common"]
	_, out.csn = d.Spec["connectedSystemName"]
	return out
}

func (d *declared) merge(o declared) {
	for s := range o.sections {
		d.sections[s] = true
	}
	d.hasSections = d.hasSections || o.hasSections
	d.common = d.common || o.common
	d.csn = d.csn || o.csn
}

// object is one connection being assembled into a Live.
type object struct {
	app  string // "" when only known by name (a GET tells no app)
	conn Connection
	want *declared // nil: summary only
	// like is a manifest matched with this connection: details read equal
	// to its own share its memory (see syncd.ShareDesired).
	like *syncd.Desired

	mu       sync.Mutex
	sections map[string]any
	common   map[string]any
	csn      *string
	csnRead  bool
	gone     bool
}

// likeField is the matched manifest's spec field, nil without one.
func (o *object) likeField(name string) any {
	if o.like == nil {
		return nil
	}
	return o.like.Spec[name]
}

// likeSection is the matched manifest's section, nil without one.
func (o *object) likeSection(name string) any {
	secs, _ := o.likeField("sections").(map[string]any)
	return secs[name]
}

func (o *object) live() syncd.Live {
	spec := map[string]any{"type": o.conn.Type, "label": o.conn.Label}
	if o.app != "" {
		spec["app"] = o.app
	}
	if o.want != nil {
		if o.want.hasSections || len(o.want.sections) > 0 {
			// fetchDetails read exactly the wanted sections into
			// o.sections; a connection gone meanwhile has none.
			secs := o.sections
			if secs == nil {
				secs = map[string]any{}
			}
			spec["sections"] = secs
		}
		if o.want.common && o.common != nil {
			spec["common"] = o.common
		}
	}
	if o.csnRead {
		if o.csn == nil {
			spec["connectedSystemName"] = nil
		} else {
			spec["connectedSystemName"] = *o.csn
		}
	}
	if o.like != nil {
		// In sync, the whole spec is the manifest's own.
		if m, ok := syncd.ShareDesired(spec, o.like.Spec).(map[string]any); ok {
			spec = m
		}
	}
	return syncd.Live{Kind: syncd.MakeConnection, RemoteID: o.conn.Name, Spec: spec}
}

// Observe lists each app the wants name once, then reads only the declared
// sections and common data of the connections the wants match, plus a GET
// per connection when connectedSystemName is declared (the list lacks it)
// and per RemoteID the lists did not show. A natural key that matches
// several connections fetches nothing: the planner reports it.
func (c *Client) Observe(ctx context.Context, wants []platform.Want) (platform.Snapshot, error) {
	var apps []string
	for _, w := range wants {
		if w.Desired != nil {
			if app := str(w.Desired.Spec, "app"); app != "" && !slices.Contains(apps, app) {
				apps = append(apps, app)
			}
		}
	}
	slices.Sort(apps)
	lists := make([][]Connection, len(apps))
	missing := make([]bool, len(apps))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	for i, app := range apps {
		g.Go(func() error {
			conns, err := c.ListConnections(gctx, app)
			if platform.IsNotFound(err) {
				// A clean 404: the app does not exist (or the token's
				// organisation cannot see it). Its resources are errors,
				// never creates; the other apps still plan.
				missing[i] = true
				return nil
			}
			if err != nil {
				return fmt.Errorf("make: list connections of app %s: %w", app, err)
			}
			lists[i] = conns
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return platform.Snapshot{}, err
	}
	var unreadable map[syncd.Key]string
	for i, app := range apps {
		if !missing[i] {
			continue
		}
		why := c.appNotFound(app)
		c.log.Error(why)
		for _, w := range wants {
			if w.Desired != nil && str(w.Desired.Spec, "app") == app {
				if unreadable == nil {
					unreadable = map[syncd.Key]string{}
				}
				unreadable[w.Desired.Key] = why
			}
		}
	}

	objects := map[string]*object{}
	byLabel := map[string][]string{} // app/label -> names
	for i, app := range apps {
		for _, conn := range lists[i] {
			if _, dup := objects[conn.Name]; dup {
				continue
			}
			objects[conn.Name] = &object{app: app, conn: conn}
			k := app + "/" + conn.Label
			byLabel[k] = append(byLabel[k], conn.Name)
		}
	}

	// Match wants to objects; collect names to GET.
	byID := map[string]bool{} // names asked for by RemoteID
	toGet := map[string]*declared{}
	likeOf := map[string]*syncd.Desired{} // for those fetched by name
	for _, w := range wants {
		if w.Desired != nil && unreadable[w.Desired.Key] != "" {
			continue
		}
		want := declaredOf(w.Desired)
		name := w.RemoteID
		if name == "" && w.Desired != nil {
			names := byLabel[Rules{}.NaturalKey(w.Desired.Spec)]
			if len(names) != 1 {
				continue // none: a create; several: ambiguous, the planner says so
			}
			name = names[0]
		}
		if name == "" {
			continue
		}
		if w.RemoteID != "" {
			byID[name] = true
		}
		o, listed := objects[name]
		if !listed {
			d := toGet[name]
			if d == nil {
				d = &declared{sections: map[string]bool{}}
				toGet[name] = d
			}
			if w.Desired != nil {
				d.merge(want)
				if likeOf[name] == nil {
					likeOf[name] = w.Desired
				}
			}
			continue
		}
		if w.Desired == nil {
			continue // a delete candidate still listed: the summary is enough
		}
		if o.want == nil {
			o.want = &want // its own: declaredOf made it for this want
		} else {
			o.want.merge(want)
		}
		if o.like == nil {
			o.like = w.Desired
		}
	}

	// Fetch the unlisted ones by name, then every declared detail.
	var gmu sync.Mutex
	var gone []string
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	for name, want := range toGet {
		g.Go(func() error {
			conn, err := c.GetConnection(gctx, name)
			if platform.IsNotFound(err) {
				gmu.Lock()
				gone = append(gone, name)
				gmu.Unlock()
				return nil
			}
			if err != nil {
				return fmt.Errorf("make: get connection %s: %w", name, err)
			}
			o := &object{conn: conn, csn: conn.ConnectedSystemName, csnRead: true, like: likeOf[name]}
			if want.hasSections || want.common || want.csn {
				o.want = want
			}
			gmu.Lock()
			objects[name] = o
			gmu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return platform.Snapshot{}, err
	}
	if err := c.fetchDetails(ctx, objects); err != nil {
		return platform.Snapshot{}, err
	}

	snap := platform.Snapshot{Unreadable: unreadable}
	for name, o := range objects {
		if o.gone {
			if byID[name] {
				gone = append(gone, name)
			}
			continue
		}
		snap.Objects = append(snap.Objects, o.live())
	}
	sortLive(snap.Objects)
	slices.Sort(gone)
	snap.Gone = slices.Compact(gone)
	return snap, nil
}

func sortLive(l []syncd.Live) {
	sort.Slice(l, func(i, j int) bool { return l[i].RemoteID < l[j].RemoteID })
}

// fetchDetails reads, in parallel, what each object's want declares. A 404
// on any of them means the connection went away under us (Make deletes
// asynchronously, so a list can still show a deleted one).
func (c *Client) fetchDetails(ctx context.Context, objects map[string]*object) error {
	g, gctx := errgroup.WithContext(ctx)
	names := make([]string, 0, len(objects))
	for name := range objects {
		names = append(names, name)
	}
	slices.Sort(names)
	// A read is data, not a closure: a large estate queues tens of
	// thousands of them.
	type job struct {
		name    string
		o       *object
		section string // "" with common or connection
		common  bool
		conn    bool // the connection itself, for connectedSystemName
	}
	var jobs []job
	for _, name := range names {
		o := objects[name]
		if o.want == nil {
			continue
		}
		o.sections = make(map[string]any, len(o.want.sections))
		if o.want.csn && !o.csnRead {
			jobs = append(jobs, job{name: name, o: o, conn: true})
		}
		secs := make([]string, 0, len(o.want.sections))
		for s := range o.want.sections {
			secs = append(secs, s)
		}
		slices.Sort(secs)
		for _, s := range secs {
			jobs = append(jobs, job{name: name, o: o, section: s})
		}
		if o.want.common {
			jobs = append(jobs, job{name: name, o: o, common: true})
		}
	}
	read := func(j job) (what string, err error) {
		o := j.o
		switch {
		case j.conn:
			conn, err := c.GetConnection(gctx, j.name)
			if err == nil {
				o.mu.Lock()
				o.csn, o.csnRead = conn.ConnectedSystemName, true
				o.mu.Unlock()
			}
			return "connection", err
		case j.common:
			like, _ := o.likeField("common").(map[string]any)
			m, err := c.readCommon(gctx, j.name, like)
			if err == nil {
				o.mu.Lock()
				o.common = m
				o.mu.Unlock()
			}
			return "common data", err
		default:
			_, v, err := c.readSection(gctx, j.name, j.section, o.likeSection(j.section))
			if err == nil {
				o.mu.Lock()
				o.sections[j.section] = v
				o.mu.Unlock()
			}
			return "section " + j.section, err
		}
	}
	// A fixed set of workers takes the reads in order: a goroutine per
	// read would grow a fresh stack through net/http every time.
	var next atomic.Int64
	for range min(c.concurrency, len(jobs)) {
		g.Go(func() error {
			for {
				if err := gctx.Err(); err != nil {
					return err // the caller's, or another read failed first
				}
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return nil
				}
				j := jobs[i]
				what, err := read(j)
				if platform.IsNotFound(err) {
					j.o.mu.Lock()
					j.o.gone = true
					j.o.mu.Unlock()
					continue
				}
				if err != nil {
					return fmt.Errorf("make: get %s of connection %s: %w", what, j.name, err)
				}
			}
		})
	}
	return g.Wait()
}

// Lookup lists d's app and returns the connections labelled like d.
func (c *Client) Lookup(ctx context.Context, d *syncd.Desired) ([]syncd.Live, error) {
	app, label := str(d.Spec, "app"), str(d.Spec, "label")
	conns, err := c.ListConnections(ctx, app)
	if err != nil {
		return nil, fmt.Errorf("make: look up %q in app %s: %w", label, app, err)
	}
	var out []syncd.Live
	for _, conn := range conns {
		if conn.Label == label {
			o := &object{app: app, conn: conn}
			out = append(out, o.live())
		}
	}
	sortLive(out)
	return out, nil
}

// Create posts {type, label}, then writes connectedSystemName, each
// declared section and common data. After an ambiguous POST failure it
// looks the connection up by app, label and type before anything else:
// one found is used, none allows exactly one more POST, several is an
// error. On an error after the POST succeeded the returned name is the
// created connection's, so the caller can bind it.
func (c *Client) Create(ctx context.Context, d *syncd.Desired) (string, error) {
	secrets := transport.SecretValues(d, Rules{})
	name, err := c.create(ctx, d)
	if err != nil {
		return name, transport.Redact(err, secrets)
	}
	if err := c.writeFields(ctx, name, d, allGroups(d)); err != nil {
		return name, transport.Redact(fmt.Errorf("make: connection %s was created but not completed: %w", name, err), secrets)
	}
	return name, nil
}

func (c *Client) create(ctx context.Context, d *syncd.Desired) (string, error) {
	app, typ, label := str(d.Spec, "app"), str(d.Spec, "type"), str(d.Spec, "label")
	conn, err := c.CreateConnection(ctx, app, typ, label)
	if err == nil {
		return conn.Name, nil
	}
	if !platform.IsAmbiguous(err) {
		return "", fmt.Errorf("make: create connection %q in app %s: %w", label, app, err)
	}
	found, lerr := c.Lookup(ctx, d)
	if lerr != nil {
		return "", fmt.Errorf("make: create connection %q in app %s: outcome unknown (%v), and the lookup failed: %w", label, app, err, lerr)
	}
	// A replace deletes the old connection first and Make deletes
	// lazily: a leftover with the old type must not be taken for ours.
	var same []string
	for _, l := range found {
		if str(l.Spec, "type") == typ {
			same = append(same, l.RemoteID)
		}
	}
	switch len(same) {
	case 1:
		return same[0], nil
	case 0:
		conn, err2 := c.CreateConnection(ctx, app, typ, label)
		if err2 != nil {
			return "", fmt.Errorf("make: create connection %q in app %s: first attempt failed (%v), nothing was created, and the retry failed: %w", label, app, err, err2)
		}
		return conn.Name, nil
	}
	return "", fmt.Errorf("make: create connection %q in app %s: outcome unknown (%v), and %d connections with that label and type now exist (%v): resolve by hand or set metadata.externalId", label, app, err, len(same), same)
}

// groups are the units Update writes.
type groups struct {
	patch    map[string]bool // label, connectedSystemName
	sections map[string]bool
	common   bool
}

func allGroups(d *syncd.Desired) groups {
	g := groups{patch: map[string]bool{}, sections: map[string]bool{}}
	dec := declaredOf(d)
	g.sections = dec.sections
	g.common = dec.common
	if v, ok := d.Spec["connectedSystemName"]; ok && v != nil {
		g.patch["connectedSystemName"] = true // a new connection has none
	}
	return g
}

// Update writes the groups the paths fall in: label and
// connectedSystemName in one PATCH, each changed section with a PUT, common
// data as a whole with a PUT. type and app cannot change in place.
func (c *Client) Update(ctx context.Context, remoteID string, d *syncd.Desired, paths []string) error {
	g := groups{patch: map[string]bool{}, sections: map[string]bool{}}
	for _, p := range paths {
		tokens := syncd.SplitPointer(p)
		if len(tokens) == 0 {
			all := allGroups(d)
			all.patch["label"] = true
			if _, ok := d.Spec["connectedSystemName"]; ok {
				all.patch["connectedSystemName"] = true
			}
			g = all
			break
		}
		switch tokens[0] {
		case "label", "connectedSystemName":
			g.patch[tokens[0]] = true
		case "sections":
			if len(tokens) > 1 {
				g.sections[tokens[1]] = true
			} else {
				for s := range declaredOf(d).sections {
					g.sections[s] = true
				}
			}
		case "common":
			g.common = true
		case "type", "app":
			return fmt.Errorf("make: update %s: %s cannot change in place; the connection must be replaced", remoteID, tokens[0])
		default:
			return fmt.Errorf("make: update %s: %s is not a field of a connection", remoteID, p)
		}
	}
	return transport.Redact(c.writeFields(ctx, remoteID, d, g), transport.SecretValues(d, Rules{}))
}

func (c *Client) writeFields(ctx context.Context, name string, d *syncd.Desired, g groups) error {
	var u ConnectionUpdate
	if g.patch["label"] {
		label := str(d.Spec, "label")
		u.Label = &label
	}
	if g.patch["connectedSystemName"] {
		if v, ok := d.Spec["connectedSystemName"]; ok {
			var p *string
			if s, ok := v.(string); ok {
				p = &s
			} else if v != nil {
				return fmt.Errorf("make: connectedSystemName of %s must be a string or null", name)
			}
			u.ConnectedSystemName = &p
		}
	}
	if u.Label != nil || u.ConnectedSystemName != nil {
		if _, err := c.UpdateConnection(ctx, name, u); err != nil {
			return fmt.Errorf("make: update connection %s: %w", name, err)
		}
	}
	secs, _ := d.Spec["sections"].(map[string]any)
	names := make([]string, 0, len(g.sections))
	for s := range g.sections {
		if _, ok := secs[s]; ok {
			names = append(names, s)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(slices.Index(Sections, a), slices.Index(Sections, b)) })
	for _, s := range names {
		raw, ok := d.RawSections[s]
		if !ok {
			b, err := json.MarshalIndent(secs[s], "", "  ")
			if err != nil {
				return fmt.Errorf("make: encode section %s of %s: %w", s, name, err)
			}
			raw = string(b)
		}
		if err := c.SetSection(ctx, name, s, raw); err != nil {
			return fmt.Errorf("make: set section %s of %s: %w", s, name, err)
		}
	}
	if g.common {
		v, ok := d.Spec["common"]
		if ok {
			m, isMap := v.(map[string]any)
			if !isMap && v != nil {
				return fmt.Errorf("make: common data of %s must be an object", name)
			}
			if err := c.SetCommon(ctx, name, m); err != nil {
				return fmt.Errorf("make: set common data of %s: %w", name, err)
			}
		}
	}
	return nil
}

// Delete removes a connection; one already gone is success. Make may
// still list it for a while: callers must not delete it again.
func (c *Client) Delete(ctx context.Context, remoteID string) error {
	err := c.DeleteConnection(ctx, remoteID)
	if err == nil || platform.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("make: delete connection %s: %w", remoteID, err)
}

// appNotFound says that app's connection list answered a clean 404, where.
func (c *Client) appNotFound(app string) string {
	return fmt.Sprintf("make: app %q not found: GET %s%s answered 404; check spec.app (the SDK app's name in this zone) and SYNCD_MAKE_URL/SYNCD_MAKE_ZONE",
		app, c.t.BaseURL(), appPath(app))
}

// ListAll reads every connection of app with everything: the connection
// itself (for connectedSystemName), all six sections and common data.
func (c *Client) ListAll(ctx context.Context, app string) ([]syncd.Live, error) {
	if app == "" {
		return nil, errors.New("make: list all: an app name is required")
	}
	conns, err := c.ListConnections(ctx, app)
	if platform.IsNotFound(err) {
		return nil, errors.New(c.appNotFound(app))
	}
	if err != nil {
		return nil, fmt.Errorf("make: list connections of app %s: %w", app, err)
	}
	all := declared{sections: map[string]bool{}, common: true, csn: true}
	for _, s := range Sections {
		all.sections[s] = true
	}
	objects := map[string]*object{}
	for _, conn := range conns {
		a := all
		objects[conn.Name] = &object{app: app, conn: conn, want: &a}
	}
	if err := c.fetchDetails(ctx, objects); err != nil {
		return nil, err
	}
	var out []syncd.Live
	for _, o := range objects {
		if !o.gone {
			out = append(out, o.live())
		}
	}
	sortLive(out)
	return out, nil
}
