package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/syncd"
)

func pwDesired(name, connName, externalID string) *syncd.Desired {
	return &syncd.Desired{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: name}, ExternalID: externalID,
		Spec: map[string]any{"name": connName, "timezone": "UTC"}}
}

func pwLive(id, connName string) syncd.Live {
	return syncd.Live{Kind: syncd.PatchworksConnector, RemoteID: id, Spec: map[string]any{"id": id, "name": connName, "timezone": "UTC"}}
}

func bind(name, id string) (syncd.Key, syncd.Binding) {
	k := syncd.Key{Kind: syncd.PatchworksConnector, Name: name}
	return k, syncd.Binding{Key: k, RemoteID: id}
}

func bindings(pairs ...string) map[syncd.Key]syncd.Binding {
	m := map[syncd.Key]syncd.Binding{}
	for i := 0; i < len(pairs); i += 2 {
		k, b := bind(pairs[i], pairs[i+1])
		m[k] = b
	}
	return m
}

// outcome is what a test checks of one change.
type outcome struct {
	Name     string
	Action   Action
	RemoteID string
	Blocked  string
	Error    string
}

func outcomes(p *Plan) []outcome {
	var out []outcome
	for _, c := range p.Changes {
		out = append(out, outcome{c.Key.Name, c.Action, c.RemoteID, c.Blocked, c.Error})
	}
	return out
}

func TestMatching(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want []outcome
	}{
		{
			name: "binding wins over externalId and natural key",
			in: Input{Rules: testRules, Desired: []*syncd.Desired{pwDesired("a", "A", "2")},
				Live:     []syncd.Live{pwLive("1", "Old name"), pwLive("2", "X"), pwLive("3", "A")},
				Bindings: bindings("a", "1")},
			want: []outcome{{Name: "a", Action: ActionUpdate, RemoteID: "1"}},
		},
		{
			name: "an unreadable resource is an error, not a create, even when bound",
			in: Input{Rules: testRules, Desired: []*syncd.Desired{pwDesired("a", "A", ""), pwDesired("b", "B", "")},
				Bindings:   bindings("b", "7"),
				Gone:       map[syncd.Kind][]string{syncd.PatchworksConnector: {"7"}},
				Unreadable: map[syncd.Key]string{{Kind: syncd.PatchworksConnector, Name: "a"}: "app missing", {Kind: syncd.PatchworksConnector, Name: "b"}: "app missing"}},
			want: []outcome{{Name: "a", Action: ActionNoop, Error: "app missing"}, {Name: "b", Action: ActionNoop, Error: "app missing"}},
		},
		{
			name: "an object another manifest names as externalId is not taken by natural key",
			in: Input{Rules: testRules, Desired: []*syncd.Desired{pwDesired("a", "A", ""), pwDesired("b", "B", "1")},
				Live: []syncd.Live{pwLive("1", "A")}},
			want: []outcome{{Name: "a", Action: ActionCreate}, {Name: "b", Action: ActionAdopt, RemoteID: "1"}},
		},
		{
			name: "renamed manifest: the orphan's object is adopted by natural key, not twinned and pruned",
			in: Input{Rules: testRules, Desired: []*syncd.Desired{pwDesired("new-name", "A", "")},
				Live: []syncd.Live{pwLive("1", "A")}, Bindings: bindings("old-name", "1"), Prune: true},
			want: []outcome{{Name: "new-name", Action: ActionAdopt, RemoteID: "1"}},
		},
		{
			name: "an orphan's object adopted by externalId is not pruned",
			in: Input{Rules: testRules, Desired: []*syncd.Desired{pwDesired("new-name", "A", "1")},
				Live: []syncd.Live{pwLive("1", "A")}, Bindings: bindings("old-name", "1"), Prune: true},
			want: []outcome{{Name: "new-name", Action: ActionAdopt, RemoteID: "1"}},
		},
		{
			name: "an explicit --max-delete",
			in: Input{Rules: testRules, Live: []syncd.Live{pwLive("1", "A"), pwLive("2", "B")},
				Bindings: bindings("a", "1", "b", "2"), Prune: true, MaxDelete: 1},
			want: []outcome{
				{Name: "a", Action: ActionDelete, RemoteID: "1", Blocked: "plan deletes 2 objects, more than --max-delete 1; use --allow-mass-delete"},
				{Name: "b", Action: ActionDelete, RemoteID: "2", Blocked: "plan deletes 2 objects, more than --max-delete 1; use --allow-mass-delete"},
			},
		},
		{
			name: "deletes at the limit are allowed",
			in: Input{Rules: testRules, Live: []syncd.Live{pwLive("1", "A"), pwLive("2", "B")},
				Bindings: bindings("a", "1", "b", "2"), Prune: true, MaxDelete: 2},
			want: []outcome{{Name: "a", Action: ActionDelete, RemoteID: "1"}, {Name: "b", Action: ActionDelete, RemoteID: "2"}},
		},
		{
			name: "load failure and mass delete give both reasons",
			in: Input{Rules: testRules, Live: []syncd.Live{pwLive("1", "A"), pwLive("2", "B")},
				Bindings: bindings("a", "1", "b", "2"), Prune: true, MaxDelete: 1, LoadFailed: true},
			want: []outcome{
				{Name: "a", Action: ActionDelete, RemoteID: "1", Blocked: reasonLoadFailed + "; plan deletes 2 objects, more than --max-delete 1; use --allow-mass-delete"},
				{Name: "b", Action: ActionDelete, RemoteID: "2", Blocked: reasonLoadFailed + "; plan deletes 2 objects, more than --max-delete 1; use --allow-mass-delete"},
			},
		},
		{
			name: "an empty scope plans nothing",
			in: Input{Rules: testRules, Desired: []*syncd.Desired{pwDesired("a", "A", "")}, Live: []syncd.Live{pwLive("9", "Z")},
				Bindings: bindings("z", "9"), Prune: true, Scope: []syncd.Key{}},
			want: nil,
		},
		{
			name: "a bound object absent from a complete listing is created again",
			in:   Input{Rules: testRules, Desired: []*syncd.Desired{pwDesired("a", "A", "")}, Bindings: bindings("a", "1")},
			want: []outcome{{Name: "a", Action: ActionCreate}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Hasher = testHasher
			got := outcomes(Build(tt.in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHashes(t *testing.T) {
	d := &syncd.Desired{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "a"},
		Spec:        map[string]any{"app": "x", "sections": map[string]any{"api": map[string]any{"url": "u"}}},
		RawSections: map[string]string{"api": `{"url": "u"}`}}
	base := DesiredHash(testHasher, d)
	d2 := *d
	d2.RawSections = map[string]string{"api": "// a comment\n{\"url\": \"u\"}"}
	if DesiredHash(testHasher, &d2) == base {
		t.Error("a comment-only change to a $file section does not move DesiredHash")
	}
	d3 := *d
	d3.Policy.Protect = true
	if DesiredHash(testHasher, &d3) == base {
		t.Error("a policy change does not move DesiredHash")
	}
	if DesiredHash(syncd.NewHasher([]byte("other")), d) == base {
		t.Error("DesiredHash is not keyed")
	}
	a := syncd.Live{Spec: map[string]any{"n": 3, "m": map[string]any{"x": []any{1.0, "y"}}}}
	b := syncd.Live{Spec: map[string]any{"m": map[string]any{"x": []any{1, "y"}}, "n": 3.0}}
	if LiveFingerprint(testHasher, &a) != LiveFingerprint(testHasher, &b) {
		t.Error("LiveFingerprint depends on number types")
	}
	c := syncd.Live{Spec: map[string]any{"n": "3", "m": map[string]any{"x": []any{1.0, "y"}}}}
	if LiveFingerprint(testHasher, &a) == LiveFingerprint(testHasher, &c) {
		t.Error("LiveFingerprint confuses 3 and \"3\"")
	}
	if LiveFingerprint(testHasher, nil) != "" || DesiredHash(testHasher, nil) != "" {
		t.Error("nil must hash to \"\"")
	}
}

// TestFingerprintsWhereAPlanCanBeSaved: every change a saved plan can
// hold (update, adopt, delete) carries the live object's fingerprint,
// which apply checks; a noop, which is never saved, carries none, and
// still carries its DesiredHash (the drift record reads it).
func TestFingerprintsWhereAPlanCanBeSaved(t *testing.T) {
	in := Input{Rules: testRules, Hasher: testHasher, Prune: true,
		Desired:  []*syncd.Desired{pwDesired("same", "S", ""), pwDesired("edited", "E", ""), pwDesired("found", "F", "")},
		Live:     []syncd.Live{pwLive("1", "S"), pwLive("2", "E-old"), pwLive("3", "F"), pwLive("4", "gone")},
		Bindings: bindings("same", "1", "edited", "2", "orphan", "4")}
	want := map[string]Action{"same": ActionNoop, "edited": ActionUpdate, "found": ActionAdopt, "orphan": ActionDelete}
	for _, c := range Build(in).Changes {
		if c.Action != want[c.Key.Name] {
			t.Fatalf("%s: %s, want %s", c.Key.Name, c.Action, want[c.Key.Name])
		}
		l := pwLive(c.RemoteID, "")
		for _, x := range in.Live {
			if x.RemoteID == c.RemoteID {
				l = x
			}
		}
		switch {
		case c.Action == ActionNoop && c.LiveFingerprint != "":
			t.Errorf("%s: a noop carries a fingerprint", c.Key.Name)
		case c.Action != ActionNoop && c.LiveFingerprint != LiveFingerprint(testHasher, &l):
			t.Errorf("%s (%s): fingerprint %q, want the live object's", c.Key.Name, c.Action, c.LiveFingerprint)
		}
		if c.Action != ActionDelete && c.DesiredHash == "" {
			t.Errorf("%s: no DesiredHash", c.Key.Name)
		}
	}
}
