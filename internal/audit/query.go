package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/syncd/syncd/internal/syncd"
)

// Filter selects audit events. The zero value selects all of them.
type Filter struct {
	Since time.Time  // events that occurred at or after Since
	Key   *syncd.Key // events about this resource
	Limit int        // the newest Limit events; 0 means no limit
}

// StoredEvent is an audit row as read back.
type StoredEvent struct {
	RowID int64 // audit_events.id: the row's position in the hash chain
	Event syncd.Event
}

// Events returns the matching events in the order they were recorded.
func (s *Store) Events(ctx context.Context, f Filter) ([]StoredEvent, error) {
	var since, kind, name, limit any
	if !f.Since.IsZero() {
		since = f.Since
	}
	if f.Key != nil {
		kind, name = string(f.Key.Kind), f.Key.Name
	}
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := s.pool.Query(ctx, `
SELECT id, event_key, occurred_at, run_id, event_type, resource_kind, resource_name, remote_id,
       action, changes, outcome, error, manifest_revision, mode, actor
FROM audit_events
WHERE ($1::timestamptz IS NULL OR occurred_at >= $1)
  AND ($2::text IS NULL OR (resource_kind = $2 AND resource_name = $3))
ORDER BY id DESC
LIMIT $4`, since, kind, name, limit)
	if err != nil {
		return nil, s.unavailable("query events", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredEvent, error) {
		var se StoredEvent
		var run, kind, name, remote, action, outcome, errText, rev, mode, actor *string
		var changes []byte
		e := &se.Event
		var typ string
		if err := r.Scan(&se.RowID, &e.ID, &e.OccurredAt, &run, &typ, &kind, &name, &remote,
			&action, &changes, &outcome, &errText, &rev, &mode, &actor); err != nil {
			return se, err
		}
		e.Type, e.RunID, e.Kind, e.Name, e.RemoteID = syncd.EventType(typ), deref(run), syncd.Kind(deref(kind)), deref(name), deref(remote)
		e.Action, e.Outcome, e.Error, e.ManifestRevision = deref(action), deref(outcome), deref(errText), deref(rev)
		e.Mode, e.Actor = syncd.Mode(deref(mode)), deref(actor)
		e.OccurredAt = e.OccurredAt.UTC()
		if changes != nil {
			if err := json.Unmarshal(changes, &e.Changes); err != nil {
				return se, fmt.Errorf("event %d: changes: %w", se.RowID, err)
			}
		}
		return se, nil
	})
	if err != nil {
		return nil, s.unavailable("query events", err)
	}
	slices.Reverse(out)
	return out, nil
}

// VerifyReport is the outcome of checking the hash chain.
type VerifyReport struct {
	Rows int64 // rows checked
	// Head is the chain head's last id (audit_chain): the number of rows
	// ever appended.
	Head int64
	// KeyedFrom is the first row hashed with the audit key; 0 when the
	// chain is not keyed.
	KeyedFrom int64
	// Checkpoints is how many checkpoints the chain was compared with.
	Checkpoints int
	// FirstBroken is the id of the first row where the chain breaks (the
	// changed row, or the row after removed ones); 0 when the chain is
	// intact or only rows at the end are missing.
	FirstBroken int64
	Problems    []VerifyProblem // the first 100 problems, in chain order
}

// OK reports an intact chain.
func (r VerifyReport) OK() bool { return len(r.Problems) == 0 }

// VerifyProblem is one break in the chain.
type VerifyProblem struct {
	ID     int64 // the row where the break shows; 0 for rows missing at the end
	Reason string
	// MissingFrom and MissingTo are the ids of removed rows, when rows were
	// removed.
	MissingFrom, MissingTo int64
}

const maxProblems = 100

// VerifyOptions are what Verify checks the chain against, from outside
// the database.
type VerifyOptions struct {
	// Key is the audit key. Rows hashed with it (from keyed_from on) can
	// only be checked with it; without it Verify refuses a keyed chain.
	Key []byte
	// Checkpoints are signed heads kept outside the database: each row
	// they name must still exist with the same hash, and the chain must
	// be keyed from where they say.
	Checkpoints []Checkpoint
}

// ErrNeedKey is returned by Verify for a keyed chain without the key.
var ErrNeedKey = errors.New("audit: verify: the chain is keyed: set SYNCD_AUDIT_KEY (or SYNCD_AUDIT_KEY_FILE) to verify it")

// Verify checks the chain with the store's own key and no checkpoints.
func (s *Store) Verify(ctx context.Context) (VerifyReport, error) {
	return s.VerifyWith(ctx, VerifyOptions{Key: s.opts.ChainKey})
}

// VerifyWith recomputes the hash chain over every row, read-only. A row
// changed behind the append-only trigger's back no longer matches its
// hash; a removed row leaves a gap in the ids and breaks the next row's
// prev_hash; rows removed from the end fall short of the chain head. From
// the first keyed row on, every hash must be the HMAC with the key: a row
// forged and re-hashed with plain SHA-256 (or another key) is reported.
// Checkpoints catch what the database alone cannot show: rows cut from
// the end together with the head, a wiped table, a re-keyed chain.
func (s *Store) VerifyWith(ctx context.Context, opts VerifyOptions) (VerifyReport, error) {
	var rep VerifyReport
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return rep, s.unavailable("verify", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	var headHash string
	var dbKeyedFrom *int64
	if err := tx.QueryRow(ctx, `SELECT last_id, row_hash, keyed_from FROM audit_chain WHERE id = 1`).Scan(&rep.Head, &headHash, &dbKeyedFrom); err != nil {
		return rep, s.unavailable("verify: chain head", err)
	}
	add := func(p VerifyProblem) {
		if rep.FirstBroken == 0 && p.ID != 0 {
			rep.FirstBroken = p.ID
		}
		if len(rep.Problems) < maxProblems {
			rep.Problems = append(rep.Problems, p)
		}
	}
	// The chain is keyed from the earliest row any source says: a
	// superuser can clear keyed_from, not the signed checkpoints.
	if dbKeyedFrom != nil {
		rep.KeyedFrom = *dbKeyedFrom
	}
	rep.Checkpoints = len(opts.Checkpoints)
	want := map[int64][]Checkpoint{}
	for _, c := range opts.Checkpoints {
		if c.KeyedFrom != 0 && (rep.KeyedFrom == 0 || c.KeyedFrom < rep.KeyedFrom) {
			if dbKeyedFrom == nil || *dbKeyedFrom != c.KeyedFrom {
				add(VerifyProblem{Reason: fmt.Sprintf("checkpoint of %s says the chain is keyed from row %d; the database says %s (changed)",
					c.Time.UTC().Format(time.RFC3339), c.KeyedFrom, keyedText(dbKeyedFrom))})
			}
			rep.KeyedFrom = c.KeyedFrom
		}
		if c.ID > 0 {
			want[c.ID] = append(want[c.ID], c)
		}
	}
	if rep.KeyedFrom != 0 && len(opts.Key) == 0 {
		return rep, ErrNeedKey
	}
	rows, err := tx.Query(ctx, `
SELECT id, prev_hash, row_hash, event_key, occurred_at, run_id, event_type, resource_kind, resource_name,
       remote_id, action, changes, outcome, error, manifest_revision, mode, actor
FROM audit_events ORDER BY id`)
	if err != nil {
		return rep, s.unavailable("verify", err)
	}
	defer rows.Close()
	var (
		prevID                           int64
		prevHash                         string
		id                               int64
		storedPrev, storedHash, key, typ string
		at                               time.Time
		changes                          []byte
		cols                             [10]pgtype.Text // run_id, kind, name, remote_id, action, outcome, error, revision, mode, actor
	)
	for rows.Next() {
		if err := rows.Scan(&id, &storedPrev, &storedHash, &key, &at, &cols[0], &typ, &cols[1], &cols[2],
			&cols[3], &cols[4], &changes, &cols[5], &cols[6], &cols[7], &cols[8], &cols[9]); err != nil {
			return rep, fmt.Errorf("audit: verify: %w", err)
		}
		rep.Rows++
		if id != prevID+1 {
			add(VerifyProblem{ID: id, MissingFrom: prevID + 1, MissingTo: id - 1,
				Reason: fmt.Sprintf("%s missing before it (removed)", idRange(prevID+1, id-1))})
		} else if storedPrev != prevHash {
			add(VerifyProblem{ID: id, Reason: "prev_hash does not match the previous row's row_hash"})
		}
		in := hashInput{
			{s: key, ok: true}, {s: at.UTC().Format(hashTimeLayout), ok: true}, text(cols[0]), {s: typ, ok: true},
			text(cols[1]), text(cols[2]), text(cols[3]), text(cols[4]), {}, text(cols[5]),
			text(cols[6]), text(cols[7]), text(cols[8]), text(cols[9]),
		}
		if changes != nil {
			c, err := canonicalJSON(changes)
			if err != nil {
				return rep, fmt.Errorf("audit: verify row %d: changes: %w", id, err)
			}
			in[8] = hashField{b: c, ok: true}
		}
		keyed := rep.KeyedFrom != 0 && id >= rep.KeyedFrom
		var rowKey []byte
		if keyed {
			rowKey = opts.Key
		}
		switch {
		case keyed && !strings.HasPrefix(storedHash, keyedPrefix):
			add(VerifyProblem{ID: id, Reason: "row_hash is not keyed although the chain is keyed from row " +
				strconv.FormatInt(rep.KeyedFrom, 10) + " (forged)"})
		case hashFields(rowKey, storedPrev, id, &in) != storedHash:
			if keyed {
				add(VerifyProblem{ID: id, Reason: "row content does not match its keyed row_hash (changed, forged, or another key)"})
			} else {
				add(VerifyProblem{ID: id, Reason: "row content does not match its row_hash (changed)"})
			}
		}
		for _, c := range want[id] {
			if c.Hash != storedHash {
				add(VerifyProblem{ID: id, Reason: fmt.Sprintf("row_hash differs from the checkpoint of %s (changed)", c.Time.UTC().Format(time.RFC3339))})
			}
		}
		delete(want, id)
		prevID, prevHash = id, storedHash
	}
	if err := rows.Err(); err != nil {
		return rep, s.unavailable("verify", err)
	}
	switch {
	case rep.Head > prevID:
		add(VerifyProblem{MissingFrom: prevID + 1, MissingTo: rep.Head,
			Reason: fmt.Sprintf("%s missing at the end (removed)", idRange(prevID+1, rep.Head))})
	case rep.Head == prevID && headHash != prevHash:
		add(VerifyProblem{ID: id, Reason: "last row does not match the chain head (changed)"})
	case rep.Head < prevID:
		add(VerifyProblem{ID: id, Reason: "rows beyond the chain head (written around syncd)"})
	}
	// Checkpointed rows that are gone: the end of the chain (and its
	// head) was cut back, or the table wiped.
	var gone int64
	for cid := range want {
		if cid > prevID {
			gone = max(gone, cid)
		}
	}
	if gone > 0 {
		from := prevID + 1
		what := "missing at the end (truncated: a checkpoint outside the database names them)"
		if rep.Rows == 0 {
			from, what = 1, "missing (the table was wiped: a checkpoint outside the database names them)"
		}
		add(VerifyProblem{MissingFrom: from, MissingTo: gone, Reason: fmt.Sprintf("%s %s", idRange(from, gone), what)})
	}
	return rep, nil
}

func keyedText(k *int64) string {
	if k == nil {
		return "it is not keyed"
	}
	return "row " + strconv.FormatInt(*k, 10)
}

func text(t pgtype.Text) hashField { return hashField{s: t.String, ok: t.Valid} }

func idRange(from, to int64) string {
	if from == to {
		return fmt.Sprintf("row id %d", from)
	}
	return fmt.Sprintf("row ids %d-%d", from, to)
}
