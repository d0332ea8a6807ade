package planner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/syncd"
)

// PlanFileVersion is the "syncd_plan_version" this package writes and the
// only one it reads.
const PlanFileVersion = 1

// maxPlanFile bounds what ReadPlanFile reads, so a wrong file cannot
// exhaust memory. A variable only so that a test can check the boundary
// without writing 256 MiB.
var maxPlanFile int64 = 256 << 20

// PlanFileMeta is what a saved plan records besides its changes. The
// planner has no clock: CreatedAt comes from the caller.
type PlanFileMeta struct {
	CreatedAt time.Time
	// ManifestsDigest identifies the manifests the plan was computed from
	// ("" allowed: apply checks each change's DesiredHash).
	ManifestsDigest string
	// ManifestRevision is the git commit of the manifests, "" when unknown.
	ManifestRevision string
	// Prune records whether the plan was made with pruning on.
	Prune bool
}

type planFile struct {
	Version          int              `json:"syncd_plan_version"`
	CreatedAt        time.Time        `json:"created_at"`
	ManifestsDigest  string           `json:"manifests_digest"`
	ManifestRevision string           `json:"manifest_revision,omitempty"`
	Prune            bool             `json:"prune"`
	LoadFailed       bool             `json:"load_failed"`
	NoInventory      bool             `json:"no_inventory,omitempty"`
	Targets          []string         `json:"targets,omitempty"`
	Summary          Summary          `json:"summary"`
	Changes          []planFileChange `json:"changes"`
}

type planFileChange struct {
	Kind            syncd.Kind          `json:"kind"`
	Name            string              `json:"name"`
	Action          Action              `json:"action"`
	RemoteID        string              `json:"remote_id"`
	NaturalKey      string              `json:"natural_key"`
	Blocked         string              `json:"blocked_reason,omitempty"`
	ReportOnly      bool                `json:"report_only,omitempty"`
	Drift           bool                `json:"drift,omitempty"`
	Fields          []syncd.FieldChange `json:"fields"`
	Notes           []string            `json:"notes,omitempty"`
	LiveFingerprint string              `json:"live_fingerprint"`
	DesiredHash     string              `json:"desired_hash"`
}

// WritePlanFile saves p for a later `syncd apply PLANFILE`: every change
// that is not a noop, with its fields (already redacted), the fingerprint
// of the live object and the hash of the manifest it was computed from. It
// holds no secret value: apply re-loads the manifests for those, and
// refuses a resource whose DesiredHash moved.
func WritePlanFile(w io.Writer, p *Plan, meta PlanFileMeta) error {
	if err := checkMeta(meta.CreatedAt, meta.ManifestsDigest); err != nil {
		return err
	}
	f := planFile{
		Version:          PlanFileVersion,
		CreatedAt:        meta.CreatedAt.UTC(),
		ManifestsDigest:  meta.ManifestsDigest,
		ManifestRevision: meta.ManifestRevision,
		Prune:            meta.Prune,
		LoadFailed:       p.LoadFailed,
		NoInventory:      p.NoInventory,
		Targets:          p.Targets,
		Summary:          p.Summary,
		Changes:          []planFileChange{},
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Action == ActionNoop {
			continue
		}
		fc := planFileChange{
			Kind: c.Key.Kind, Name: c.Key.Name, Action: c.Action, RemoteID: c.RemoteID,
			NaturalKey: c.NaturalKey, Blocked: c.Blocked, ReportOnly: c.ReportOnly, Drift: c.Drift,
			Fields: make([]syncd.FieldChange, 0, len(c.Fields)), Notes: c.Notes,
			LiveFingerprint: c.LiveFingerprint, DesiredHash: c.DesiredHash,
		}
		for _, fl := range c.Fields {
			fc.Fields = append(fc.Fields, shown(fl))
		}
		if err := checkChange(fc, nil); err != nil {
			return fmt.Errorf("plan file: %s: %w", c.Key, err)
		}
		f.Changes = append(f.Changes, fc)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("plan file: %w", err)
	}
	return nil
}

// ReadPlanFile reads a file WritePlanFile wrote and checks it strictly:
// unknown keys, a wrong version, a malformed change or summary, or a
// sensitive field that carries a value are errors. The plan it returns has
// only the saved (non-noop) changes. kinds are the kinds a change may have
// (the platform registry's).
func ReadPlanFile(r io.Reader, kinds []syncd.Kind) (*Plan, PlanFileMeta, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPlanFile+1))
	if err != nil {
		return nil, PlanFileMeta{}, fmt.Errorf("plan file: read: %w", err)
	}
	if int64(len(data)) > maxPlanFile {
		return nil, PlanFileMeta{}, fmt.Errorf("plan file: larger than %d bytes", maxPlanFile)
	}
	// The version is checked before the strict decode so that a newer file
	// says so instead of naming an unknown field.
	var probe struct {
		Version *int `json:"syncd_plan_version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, PlanFileMeta{}, fmt.Errorf("plan file: not a syncd plan (invalid JSON object): %w", err)
	}
	if probe.Version == nil {
		return nil, PlanFileMeta{}, errors.New("plan file: not a syncd plan (no syncd_plan_version)")
	}
	if *probe.Version != PlanFileVersion {
		return nil, PlanFileMeta{}, fmt.Errorf("plan file: syncd_plan_version %d is not supported (want %d)", *probe.Version, PlanFileVersion)
	}
	var f planFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, PlanFileMeta{}, fmt.Errorf("plan file: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, PlanFileMeta{}, errors.New("plan file: trailing data after the plan")
	}
	if err := checkMeta(f.CreatedAt, f.ManifestsDigest); err != nil {
		return nil, PlanFileMeta{}, err
	}
	if f.Changes == nil {
		return nil, PlanFileMeta{}, errors.New("plan file: no changes list")
	}
	p := &Plan{LoadFailed: f.LoadFailed, NoInventory: f.NoInventory, Targets: f.Targets, Changes: make([]Change, 0, len(f.Changes))}
	for i, fc := range f.Changes {
		key := syncd.Key{Kind: fc.Kind, Name: fc.Name}
		if err := checkChange(fc, kinds); err != nil {
			return nil, PlanFileMeta{}, fmt.Errorf("plan file: change %d (%s): %w", i, key, err)
		}
		if i > 0 && p.Changes[i-1].Key.Compare(key) >= 0 {
			return nil, PlanFileMeta{}, fmt.Errorf("plan file: change %d (%s): changes are not sorted by resource or repeat one", i, key)
		}
		if len(fc.Notes) == 0 {
			fc.Notes = nil
		}
		p.Changes = append(p.Changes, Change{
			Key: key, Action: fc.Action, RemoteID: fc.RemoteID, NaturalKey: fc.NaturalKey,
			Blocked: fc.Blocked, ReportOnly: fc.ReportOnly, Drift: fc.Drift, Fields: fc.Fields,
			Notes: fc.Notes, LiveFingerprint: fc.LiveFingerprint, DesiredHash: fc.DesiredHash,
		})
	}
	got := Summarize(p.Changes)
	got.Noop = f.Summary.Noop // noops are not saved
	if f.Summary.Noop < 0 || got != f.Summary {
		return nil, PlanFileMeta{}, fmt.Errorf("plan file: summary %+v does not match its changes (%+v)", f.Summary, got)
	}
	if len(f.Targets) > 0 && f.Prune {
		return nil, PlanFileMeta{}, errors.New("plan file: a partial plan (targets) never prunes, but prune is set")
	}
	p.Summary = f.Summary
	meta := PlanFileMeta{
		CreatedAt: f.CreatedAt, ManifestsDigest: f.ManifestsDigest,
		ManifestRevision: f.ManifestRevision, Prune: f.Prune,
	}
	return p, meta, nil
}

// checkMeta requires the creation time. The manifests digest is optional:
// each change's DesiredHash is what apply checks.
func checkMeta(created time.Time, _ string) error {
	if created.IsZero() {
		return errors.New("plan file: created_at is missing")
	}
	return nil
}

// checkChange checks one change; with kinds nil (a plan being written,
// whose kinds the loader checked) any kind but "" is accepted.
func checkChange(fc planFileChange, kinds []syncd.Kind) error {
	if kinds == nil && fc.Kind == "" || kinds != nil && !slices.Contains(kinds, fc.Kind) {
		return fmt.Errorf("kind %q is not one of %s", fc.Kind, syncd.KindList(kinds, ", "))
	}
	if fc.Name == "" {
		return errors.New("name is empty")
	}
	switch fc.Action {
	case ActionCreate:
		if fc.RemoteID != "" || fc.LiveFingerprint != "" {
			return errors.New("a create has no remote_id or live_fingerprint")
		}
	case ActionUpdate, ActionReplace, ActionAdopt, ActionDelete:
		if fc.RemoteID == "" {
			return fmt.Errorf("a %s needs a remote_id", fc.Action)
		}
		if !validHash(fc.LiveFingerprint) {
			return fmt.Errorf("a %s needs a live_fingerprint (hmac-sha256:<64 hex>)", fc.Action)
		}
	case ActionNoop:
		return errors.New("noop changes are not saved")
	default:
		return fmt.Errorf("action %q is not one of create, update, replace, delete, adopt", fc.Action)
	}
	if fc.Action == ActionDelete {
		if fc.DesiredHash != "" {
			return errors.New("a delete has no desired_hash")
		}
	} else if !validHash(fc.DesiredHash) {
		return errors.New("desired_hash is missing or malformed (hmac-sha256:<64 hex>)")
	}
	if fc.Fields == nil {
		return errors.New("no fields list")
	}
	for j, f := range fc.Fields {
		if f.Path != "" && !strings.HasPrefix(f.Path, "/") {
			return fmt.Errorf("field %d: path %q is not a JSON pointer", j, f.Path)
		}
		if f.Sensitive && (!isRedactedOrNil(f.Before) || !isRedactedOrNil(f.After)) {
			return fmt.Errorf("field %d (%s): a sensitive field may only read %q", j, f.Path, syncd.Redacted)
		}
	}
	return nil
}

func isRedactedOrNil(v any) bool { return v == nil || v == syncd.Redacted }

func validHash(s string) bool {
	hex, ok := strings.CutPrefix(s, "hmac-sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, c := range hex {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
