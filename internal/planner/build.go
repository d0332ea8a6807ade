package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/r3labs/diff/v3"

	"github.com/syncd/syncd/internal/syncd"
)

// Input is everything a plan is computed from. The engine gathers it; the
// planner only reads it.
type Input struct {
	Desired []*syncd.Desired
	// Live holds the snapshot objects of every kind.
	Live []syncd.Live
	// Gone lists, per kind, remote ids that answered a clean 404.
	Gone map[syncd.Kind][]string
	// Bindings is the inventory: the remote objects syncd created or adopted.
	Bindings map[syncd.Key]syncd.Binding
	// NoInventory says Bindings were not read (no database: a plan in
	// pull-request CI). A matched object whose managed fields equal the
	// manifest is then in sync, one that differs is an update, and
	// write-only secrets are not compared (nothing says what was written).
	NoInventory bool
	Hasher      syncd.Hasher
	// Prune plans deletes of inventory objects whose manifest is gone.
	Prune bool
	// LoadFailed: a manifest failed to load, so every delete and replace is
	// blocked (the missing manifest's objects would otherwise look orphaned).
	LoadFailed bool
	// MaxDelete is the most deletes a plan may carry out; 0 means the
	// default, max(5, 10% of the inventory).
	MaxDelete       int
	AllowMassDelete bool
	// Scope, when non-nil, limits the plan to these keys (the daemon's
	// partial re-plan): nothing outside it is planned, deleted included.
	Scope []syncd.Key
	// Targets are the --target patterns Scope was chosen by (nil: not a
	// targeted plan). The plan carries them so that every rendering says it
	// is partial.
	Targets []string
	// Unreadable holds resources whose live state could not be read, with
	// why: each is planned as an error, never as a create.
	Unreadable map[syncd.Key]string
	// Rules are each kind's identity, comparison and sensitivity rules,
	// from its platform (the registry supplies them). A resource of a kind
	// without rules is planned as an error: there is no default comparison.
	Rules map[syncd.Kind]syncd.Rules
}

// Reasons shown for the safety rules of SPEC §4.
const (
	reasonLoadFailed = "a manifest failed to load: no delete or replace until it is fixed"
	reasonProtect    = "policy.protect: this object is never deleted or replaced"
	reasonNotOwned   = "the live object is not in syncd's inventory and syncd never deletes an object it does not own: change its type by hand or delete it"
	// noteOwnershipUnknown stands in for reasonNotOwned without an inventory.
	noteOwnershipUnknown = "ownership not checked (no database): apply replaces it only if syncd's inventory holds it, and refuses otherwise"
)

// DefaultMaxDelete is the --max-delete used when none is given: 5, or 10% of
// the inventory, whichever is larger.
func DefaultMaxDelete(inventory int) int { return max(5, inventory/10) }

type liveIndex struct {
	byID map[string]*syncd.Live
	byNK map[string][]*syncd.Live
	gone map[string]bool
}

type builder struct {
	in      Input
	h       syncd.Hasher
	differ  *diff.Differ
	enc     encoder
	index   map[syncd.Kind]*liveIndex
	desired map[syncd.Key]*syncd.Desired // all of them, in scope or not
	// claims maps kind -> remote id -> the key that owns it by binding or
	// externalId; natural-key matching never takes a claimed object.
	claims map[syncd.Kind]map[string]syncd.Key
	// extIDs holds every manifest's externalId, in scope or not.
	extIDs map[syncd.Kind]map[string]bool
	// matched records remote ids a desired resource is planned against, so
	// that no delete removes them.
	matched map[syncd.Kind]map[string]bool
}

// Build computes the plan. It is pure and deterministic.
func Build(in Input) *Plan {
	d, err := diff.NewDiffer(diff.SliceOrdering(true), diff.AllowTypeMismatch(true))
	if err != nil {
		panic(fmt.Sprintf("planner: differ options: %v", err)) // static options: cannot fail
	}
	b := &builder{
		in:      in,
		h:       in.Hasher,
		differ:  d,
		index:   map[syncd.Kind]*liveIndex{},
		desired: make(map[syncd.Key]*syncd.Desired, len(in.Desired)),
		claims:  map[syncd.Kind]map[string]syncd.Key{},
		matched: map[syncd.Kind]map[string]bool{},
		extIDs:  map[syncd.Kind]map[string]bool{},
	}
	b.indexLive()
	for _, d := range in.Desired {
		b.desired[d.Key] = d
	}
	b.indexClaims()

	var scope map[syncd.Key]bool
	if in.Scope != nil {
		scope = make(map[syncd.Key]bool, len(in.Scope))
		for _, k := range in.Scope {
			scope[k] = true
		}
	}
	inScope := func(k syncd.Key) bool { return scope == nil || scope[k] }

	ordered := make([]*syncd.Desired, 0, len(in.Desired))
	for _, d := range in.Desired {
		if inScope(d.Key) {
			ordered = append(ordered, d)
		}
	}
	slices.SortFunc(ordered, func(a, b *syncd.Desired) int { return a.Key.Compare(b.Key) })

	p := &Plan{LoadFailed: in.LoadFailed, NoInventory: in.NoInventory, Targets: in.Targets, Changes: make([]Change, 0, len(ordered))}
	for _, d := range ordered {
		p.Changes = append(p.Changes, b.planResource(d))
	}
	if in.Prune {
		p.Changes = append(p.Changes, b.planDeletes(inScope)...)
	}
	slices.SortStableFunc(p.Changes, func(a, b Change) int { return a.Key.Compare(b.Key) })
	b.applySafety(p)
	p.Summary = Summarize(p.Changes)
	return p
}

// Summarize counts changes by action; a change with an Error counts as noop.
// An adopt that writes fields counts under adopt and under update, as
// Terraform counts "1 to import, 1 to change": the summary line is what a
// reviewer reads, and it must show every write.
func Summarize(changes []Change) Summary {
	var s Summary
	for _, c := range changes {
		switch c.Action {
		case ActionCreate:
			s.Create++
		case ActionUpdate:
			s.Update++
		case ActionReplace:
			s.Replace++
		case ActionDelete:
			s.Delete++
		case ActionAdopt:
			s.Adopt++
			if len(c.Fields) > 0 {
				s.Update++
			}
		default:
			s.Noop++
		}
		if c.Blocked != "" {
			s.Blocked++
		}
	}
	return s
}

func (b *builder) indexLive() {
	for i := range b.in.Live {
		l := &b.in.Live[i]
		ix := b.kindIndex(l.Kind)
		ix.byID[l.RemoteID] = l
		if rules, ok := b.in.Rules[l.Kind]; ok {
			nk := rules.NaturalKey(l.Spec)
			ix.byNK[nk] = append(ix.byNK[nk], l)
		}
	}
	for kind, ids := range b.in.Gone {
		ix := b.kindIndex(kind)
		for _, id := range ids {
			ix.gone[id] = true
		}
	}
}

func (b *builder) kindIndex(k syncd.Kind) *liveIndex {
	ix := b.index[k]
	if ix == nil {
		ix = &liveIndex{byID: map[string]*syncd.Live{}, byNK: map[string][]*syncd.Live{}, gone: map[string]bool{}}
		b.index[k] = ix
	}
	return ix
}

func (b *builder) live(kind syncd.Kind, id string) *syncd.Live {
	if id == "" {
		return nil
	}
	if ix := b.index[kind]; ix != nil {
		return ix.byID[id]
	}
	return nil
}

// indexClaims records who owns each remote id: bindings first (they are
// the strongest evidence), then externalIds. Keys are visited in order so
// that a conflict always resolves the same way.
func (b *builder) indexClaims() {
	claim := func(kind syncd.Kind, id string, k syncd.Key) {
		if id == "" {
			return
		}
		m := b.claims[kind]
		if m == nil {
			m = map[string]syncd.Key{}
			b.claims[kind] = m
		}
		if _, taken := m[id]; !taken {
			m[id] = k
		}
	}
	keys := make([]syncd.Key, 0, len(b.in.Bindings))
	for k := range b.in.Bindings {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, syncd.Key.Compare)
	for _, k := range keys {
		claim(k.Kind, b.in.Bindings[k].RemoteID, k)
	}
	ds := slices.Clone(b.in.Desired)
	slices.SortFunc(ds, func(a, b *syncd.Desired) int { return a.Key.Compare(b.Key) })
	for _, d := range ds {
		claim(d.Key.Kind, d.ExternalID, d.Key)
		if d.ExternalID != "" {
			m := b.extIDs[d.Key.Kind]
			if m == nil {
				m = map[string]bool{}
				b.extIDs[d.Key.Kind] = m
			}
			m[d.ExternalID] = true
		}
	}
}

func (b *builder) markMatched(kind syncd.Kind, id string) {
	m := b.matched[kind]
	if m == nil {
		m = map[string]bool{}
		b.matched[kind] = m
	}
	m[id] = true
}

// match finds d's live object per SPEC §3: binding, externalId, natural key.
// bound is true when the object is the one the inventory records.
func (b *builder) match(d *syncd.Desired, c *Change) (l *syncd.Live, bound bool) {
	kind := d.Key.Kind
	binding, hasBinding := b.in.Bindings[d.Key]
	if hasBinding && binding.RemoteID != "" {
		if l := b.live(kind, binding.RemoteID); l != nil {
			return l, true
		}
		// Only a clean 404 or absence from a complete listing gets here
		// (the engine guarantees it): the object was deleted outside syncd.
		c.Drift = true
		c.Notes = append(c.Notes, fmt.Sprintf("the bound object %s no longer exists (deleted outside syncd)", binding.RemoteID))
	}
	if id := d.ExternalID; id != "" && !(hasBinding && id == binding.RemoteID) {
		l := b.live(kind, id)
		if l == nil {
			c.Error = fmt.Sprintf("metadata.externalId %q: no such %s", id, kind)
			if b.index[kind] != nil && b.index[kind].gone[id] {
				c.Error += " (404)"
			}
			return nil, false
		}
		if owner, ok := b.claims[kind][id]; ok && owner != d.Key {
			if _, alive := b.desired[owner]; alive {
				c.Error = fmt.Sprintf("metadata.externalId %q is already bound to %s", id, owner)
				return nil, false
			}
		}
		return l, false
	}
	ix := b.index[kind]
	if ix == nil {
		return nil, false
	}
	var cands []*syncd.Live
	rules := b.in.Rules[kind] // present: planResource checked
	for _, l := range ix.byNK[rules.NaturalKey(d.Spec)] {
		if owner, ok := b.claims[kind][l.RemoteID]; ok && owner != d.Key {
			if _, alive := b.desired[owner]; alive {
				continue
			}
			// The owner's manifest is gone and this one has the same
			// natural key: a rename. Adopting the object beats creating a
			// twin (and, with prune, deleting the original).
		}
		cands = append(cands, l)
	}
	switch len(cands) {
	case 0:
		return nil, false
	case 1:
		if owner, ok := b.claims[kind][cands[0].RemoteID]; ok && owner != d.Key {
			c.Supersedes = owner
			c.Notes = append(c.Notes, fmt.Sprintf("takes over %s from %s, whose manifest is gone (renamed?)", cands[0].RemoteID, owner))
		}
		return cands[0], false
	}
	ids := make([]string, len(cands))
	for i, l := range cands {
		ids[i] = l.RemoteID
	}
	slices.Sort(ids)
	c.Error = fmt.Sprintf("natural key %q matches %d live objects: %s; set metadata.externalId to choose one",
		d.SafeNaturalKey(b.h, rules), len(ids), strings.Join(ids, ", "))
	return nil, false
}

func (b *builder) planResource(d *syncd.Desired) Change {
	c := Change{
		Key:         d.Key,
		DesiredHash: b.enc.desiredHash(b.h, d),
		ReportOnly:  d.Policy.Mode == syncd.ModeReport,
	}
	rules, ok := b.in.Rules[d.Key.Kind]
	if !ok {
		c.Error = fmt.Sprintf("no platform registered for kind %s", d.Key.Kind)
		c.Action = ActionNoop
		return c
	}
	c.NaturalKey = d.SafeNaturalKey(b.h, rules) // shown and saved: never a secret in clear
	if why := b.in.Unreadable[d.Key]; why != "" {
		c.Error = why
		c.Action = ActionNoop
		return c
	}
	l, bound := b.match(d, &c)
	if c.Error != "" {
		c.Action = ActionNoop
		c.Drift = false
		return c
	}
	if l == nil {
		c.Action = ActionCreate
		c.Fields = b.createFields(rules, d)
		return c
	}
	b.markMatched(l.Kind, l.RemoteID)
	c.RemoteID = l.RemoteID
	c.Drift = false

	var binding *syncd.Binding
	if bound {
		bd := b.in.Bindings[d.Key]
		binding = &bd
	}
	r := b.compare(rules, d, l, binding)
	c.Fields = r.fields
	c.Notes = append(c.Notes, r.notes...)
	switch {
	case r.replace && bound:
		c.Action, c.Drift = ActionReplace, true
	case r.replace && b.in.NoInventory:
		// Whether syncd owns it is unknown here; the reviewer still needs
		// to see that the manifest asks for a replace.
		c.Action = ActionReplace
		c.Notes = append(c.Notes, noteOwnershipUnknown)
	case r.replace:
		c.Action = ActionReplace
		c.Blocked = reasonNotOwned
	case !bound && b.in.NoInventory && len(c.Fields) == 0:
		// Without the inventory nothing says whether syncd owns it yet;
		// what a reviewer needs to know is that it matches: in sync.
		c.Action = ActionNoop
	case !bound && b.in.NoInventory:
		c.Action = ActionUpdate
	case !bound:
		// An adopt with differences also writes them: the fields say which.
		c.Action = ActionAdopt
	case len(c.Fields) > 0:
		// A secret that was never written by syncd is not drift: nobody
		// changed it, syncd only cannot tell what it holds.
		c.Action, c.Drift = ActionUpdate, !allUnreadable(c.Fields)
	default:
		c.Action = ActionNoop
	}
	if c.Action == ActionReplace && d.Policy.Protect {
		c.Blocked = joinReason(c.Blocked, reasonProtect)
	}
	if c.Action != ActionNoop {
		// What a saved plan checks before it writes; a noop is never
		// saved, and on a large estate in sync it is nearly every change.
		c.LiveFingerprint = b.enc.liveFingerprint(b.h, l)
	}
	return c
}

func (b *builder) planDeletes(inScope func(syncd.Key) bool) []Change {
	var out []Change
	for k, bd := range b.in.Bindings {
		if _, ok := b.desired[k]; ok || !inScope(k) {
			continue
		}
		l := b.live(k.Kind, bd.RemoteID)
		if l == nil || b.matched[k.Kind][bd.RemoteID] {
			continue // already gone, or another manifest now holds it
		}
		if owner, ok := b.claims[k.Kind][bd.RemoteID]; ok && owner != k {
			continue // two inventory rows name it; the other owner decides
		}
		if b.extIDs[k.Kind][bd.RemoteID] {
			continue // a manifest names it as its externalId: adopted, not pruned
		}
		c := Change{
			Key:             k,
			Action:          ActionDelete,
			RemoteID:        bd.RemoteID,
			LiveFingerprint: b.enc.liveFingerprint(b.h, l),
		}
		if rules, ok := b.in.Rules[k.Kind]; ok {
			c.NaturalKey = rules.NaturalKey(l.Spec)
		}
		out = append(out, c)
	}
	return out
}

func (b *builder) applySafety(p *Plan) {
	deletes := 0
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Action == ActionDelete {
			deletes++
		}
		if b.in.LoadFailed && (c.Action == ActionDelete || c.Action == ActionReplace) {
			c.Blocked = joinReason(c.Blocked, reasonLoadFailed)
		}
	}
	limit := b.in.MaxDelete
	if limit <= 0 {
		limit = DefaultMaxDelete(len(b.in.Bindings))
	}
	if deletes > limit && !b.in.AllowMassDelete {
		why := fmt.Sprintf("plan deletes %d objects, more than --max-delete %d; use --allow-mass-delete", deletes, limit)
		for i := range p.Changes {
			if c := &p.Changes[i]; c.Action == ActionDelete {
				c.Blocked = joinReason(c.Blocked, why)
			}
		}
	}
}

func allUnreadable(fs []syncd.FieldChange) bool {
	for _, f := range fs {
		if !f.Unreadable {
			return false
		}
	}
	return true
}

func joinReason(have, add string) string {
	if have == "" {
		return add
	}
	return have + "; " + add
}
