package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/syncd"
)

// Drift resolutions.
const (
	ResolvedByApply          = "apply"
	ResolvedByManifestChange = "manifest_change"
	ResolvedByRevert         = "reverted"
)

// DriftScan is the outcome of one drift scan.
type DriftScan struct {
	// Run is the run that scanned: it stamps the events.
	Run syncd.Run
	// Scanned lists every resource the scan compared (keys of Drifted count
	// as scanned too); drift of resources not scanned is left as it is.
	Scanned []syncd.Key
	// Drifted holds the scanned resources whose live state differs.
	Drifted map[syncd.Key]DriftObservation
	// DesiredHashes holds the current desired-state hash of scanned
	// resources. A drift that went away while its desired hash changed was
	// resolved by a manifest change; otherwise someone reverted it. A key
	// without an entry here counts as unchanged.
	DesiredHashes map[syncd.Key]string
	// ObservedAt is when the scan saw the platforms; zero means now. A
	// scan spooled during an outage keeps its time, so that first_seen
	// is when the drift was seen, not when the database came back.
	ObservedAt time.Time
}

// DriftObservation is what a scan saw of one drifted resource.
type DriftObservation struct {
	RemoteID string
	// Fields are the drifted fields, already redacted.
	Fields []syncd.FieldChange
	// DesiredHash identifies the desired state the drift was measured
	// against.
	DesiredHash string
}

// Drift is one drift episode of a resource.
type Drift struct {
	ID          int64
	Key         syncd.Key
	RemoteID    string
	Fields      []DriftField
	DesiredHash string
	FirstSeen   time.Time
	LastSeen    time.Time
	Occurrences int // scans that saw it
	ResolvedAt  time.Time
	Resolution  string // "" while open
}

// DriftField is one drifted field within an episode, with its own
// lifecycle: a field can stop drifting while others still do.
type DriftField struct {
	syncd.FieldChange
	FirstSeen  time.Time  `json:"first_seen"`
	LastSeen   time.Time  `json:"last_seen"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
}

// driftLock serialises drift bookkeeping between syncd processes.
const driftLock = int64(0x73796e6364726674) // "syncdrft"

// ScanDrift updates the drift lifecycle from a scan and records the events
// it causes, through Record:
//   - drifted, no open episode: opens one; drift_detected (outcome "open");
//   - drifted, open episode: last_seen, occurrences and fields are
//     updated; no event (the drift table says it is still open);
//   - not drifted, open episode: resolved as manifest_change when the
//     desired hash moved since detection, else reverted; drift_resolved
//     (outcome = the resolution).
//
// It needs the database, and returns the recorded events.
func (s *Store) ScanDrift(ctx context.Context, scan DriftScan) ([]syncd.Event, error) {
	now := dbTime(s.opts.Now())
	if !scan.ObservedAt.IsZero() {
		now = dbTime(scan.ObservedAt)
	}
	var events []syncd.Event
	err := s.driftTx(ctx, "scan drift", func(tx pgx.Tx) error {
		open, err := openEpisodes(ctx, tx)
		if err != nil {
			return err
		}
		// A drifted key was scanned, listed or not.
		keys := slices.Clone(scan.Scanned)
		for k := range scan.Drifted {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, syncd.Key.Compare)
		keys = slices.Compact(keys)
		for _, key := range keys {
			obs, drifted := scan.Drifted[key]
			ep, isOpen := open[key]
			switch {
			case drifted && !isOpen:
				fields := mergeFields(nil, obs.Fields, now)
				fj, err := json.Marshal(fields)
				if err != nil {
					return err
				}
				var id int64
				err = tx.QueryRow(ctx, `
INSERT INTO drift (kind, name, remote_id, fields, desired_hash, first_seen, last_seen, occurrences, opened_run_id)
VALUES ($1, $2, $3, $4, $5, $6, $6, 1, $7) RETURNING id`,
					string(key.Kind), key.Name, null(clean(obs.RemoteID)), json.RawMessage(fj),
					null(obs.DesiredHash), now, null(clean(scan.Run.ID))).Scan(&id)
				if err != nil {
					return err
				}
				events = append(events, scan.Run.DriftEvent(now, id, syncd.EventDriftDetected, key, obs.RemoteID, activeChanges(fields), "open"))
			case drifted && isOpen:
				fields := mergeFields(ep.Fields, obs.Fields, now)
				fj, err := json.Marshal(fields)
				if err != nil {
					return err
				}
				remote := obs.RemoteID
				if remote == "" {
					remote = ep.RemoteID
				}
				if _, err := tx.Exec(ctx, `
UPDATE drift SET last_seen = GREATEST(last_seen, $2), occurrences = occurrences + 1, fields = $3, remote_id = $4 WHERE id = $1`,
					ep.ID, now, json.RawMessage(fj), null(clean(remote))); err != nil {
					return err
				}
			case !drifted && isOpen:
				how := ResolvedByRevert
				if h, ok := scan.DesiredHashes[key]; ok && ep.DesiredHash != "" && h != ep.DesiredHash {
					how = ResolvedByManifestChange
				}
				if err := resolveEpisode(ctx, tx, ep.ID, how, scan.Run.ID, now); err != nil {
					return err
				}
				events = append(events, scan.Run.DriftEvent(now, ep.ID, syncd.EventDriftResolved, key, ep.RemoteID, activeChanges(ep.Fields), how))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.Record(ctx, events...); err != nil {
		return nil, err
	}
	return events, nil
}

// ResolveDrift closes key's open drift episode, if any, as resolved by how
// (normally "apply", after a successful apply) and records drift_resolved.
// It returns that event, or nil when no drift was open.
func (s *Store) ResolveDrift(ctx context.Context, key syncd.Key, how, runID string) (*syncd.Event, error) {
	switch how {
	case ResolvedByApply, ResolvedByManifestChange, ResolvedByRevert:
	default:
		return nil, fmt.Errorf("audit: resolve drift %s: unknown resolution %q", key, how)
	}
	now := dbTime(s.opts.Now())
	var ev *syncd.Event
	err := s.driftTx(ctx, "resolve drift "+key.String(), func(tx pgx.Tx) error {
		open, err := openEpisodes(ctx, tx)
		if err != nil {
			return err
		}
		ep, ok := open[key]
		if !ok {
			return nil
		}
		if err := resolveEpisode(ctx, tx, ep.ID, how, runID, now); err != nil {
			return err
		}
		// The run, when recorded, says in which mode and for whom.
		var mode, actor, rev *string
		err = tx.QueryRow(ctx, `SELECT mode, actor, manifest_revision FROM runs WHERE id = $1`, runID).Scan(&mode, &actor, &rev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		run := syncd.Run{ID: runID, Mode: syncd.Mode(deref(mode)), Actor: deref(actor), ManifestRevision: deref(rev)}
		e := run.DriftEvent(now, ep.ID, syncd.EventDriftResolved, key, ep.RemoteID, activeChanges(ep.Fields), how)
		ev = &e
		return nil
	})
	if err != nil || ev == nil {
		return nil, err
	}
	return ev, s.Record(ctx, *ev)
}

// OpenDrifts lists the open drift episodes, oldest first.
func (s *Store) OpenDrifts(ctx context.Context) ([]Drift, error) {
	rows, err := s.pool.Query(ctx, driftSelect+` WHERE resolved_at IS NULL ORDER BY first_seen, kind, name`)
	if err != nil {
		return nil, s.unavailable("open drifts", err)
	}
	out, err := pgx.CollectRows(rows, scanDrift)
	if err != nil {
		return nil, s.unavailable("open drifts", err)
	}
	return out, nil
}

// DriftHistory lists every episode of key, oldest first.
func (s *Store) DriftHistory(ctx context.Context, key syncd.Key) ([]Drift, error) {
	rows, err := s.pool.Query(ctx, driftSelect+` WHERE kind = $1 AND name = $2 ORDER BY first_seen, id`, string(key.Kind), key.Name)
	if err != nil {
		return nil, s.unavailable("drift history", err)
	}
	out, err := pgx.CollectRows(rows, scanDrift)
	if err != nil {
		return nil, s.unavailable("drift history", err)
	}
	return out, nil
}

const driftSelect = `SELECT id, kind, name, remote_id, fields, desired_hash, first_seen, last_seen, occurrences, resolved_at, resolution FROM drift`

func scanDrift(r pgx.CollectableRow) (Drift, error) {
	var d Drift
	var kind string
	var remoteID, desired, resolution *string
	var fields []byte
	var resolved *time.Time
	if err := r.Scan(&d.ID, &kind, &d.Key.Name, &remoteID, &fields, &desired, &d.FirstSeen, &d.LastSeen,
		&d.Occurrences, &resolved, &resolution); err != nil {
		return Drift{}, err
	}
	d.Key.Kind, d.RemoteID, d.DesiredHash, d.Resolution = syncd.Kind(kind), deref(remoteID), deref(desired), deref(resolution)
	if resolved != nil {
		d.ResolvedAt = *resolved
	}
	if err := json.Unmarshal(fields, &d.Fields); err != nil {
		return Drift{}, fmt.Errorf("drift %d: fields: %w", d.ID, err)
	}
	return d, nil
}

func (s *Store) driftTx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.unavailable(op, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, driftLock); err != nil {
		return s.unavailable(op, err)
	}
	if err := fn(tx); err != nil {
		return s.unavailable(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return s.unavailable(op, err)
	}
	return nil
}

func openEpisodes(ctx context.Context, tx pgx.Tx) (map[syncd.Key]Drift, error) {
	rows, err := tx.Query(ctx, driftSelect+` WHERE resolved_at IS NULL`)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, scanDrift)
	if err != nil {
		return nil, err
	}
	out := make(map[syncd.Key]Drift, len(list))
	for _, d := range list {
		out[d.Key] = d
	}
	return out, nil
}

func resolveEpisode(ctx context.Context, tx pgx.Tx, id int64, how, runID string, now time.Time) error {
	_, err := tx.Exec(ctx, `
UPDATE drift SET resolved_at = $2, resolution = $3, resolved_run_id = $4 WHERE id = $1`,
		id, now, how, null(clean(runID)))
	return err
}

// mergeFields carries each field's own lifecycle into the new observation:
// a field still drifted keeps its first_seen, a new one starts now, and one
// no longer drifted is marked resolved.
func mergeFields(old []DriftField, cur []syncd.FieldChange, now time.Time) []DriftField {
	byPath := make(map[string]DriftField, len(old)+len(cur))
	for _, f := range old {
		if f.ResolvedAt == nil {
			f.ResolvedAt = &now
		}
		byPath[f.Path] = f
	}
	for _, c := range cur {
		c = redact(c)
		f, ok := byPath[c.Path]
		if !ok || f.ResolvedAt != nil && f.ResolvedAt.Before(now) {
			f = DriftField{FirstSeen: now}
		}
		f.FieldChange = c
		f.LastSeen = now
		f.ResolvedAt = nil
		byPath[c.Path] = f
	}
	out := make([]DriftField, 0, len(byPath))
	for _, f := range byPath {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b DriftField) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// activeChanges are the fields of an episode that are still drifted.
func activeChanges(fields []DriftField) []syncd.FieldChange {
	var out []syncd.FieldChange
	for _, f := range fields {
		if f.ResolvedAt == nil {
			out = append(out, f.FieldChange)
		}
	}
	return out
}
