package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/syncd"
)

// EventTypes lists the event types the audit_events table accepts; a new
// one needs a migration that widens audit_events_event_type_check.
var EventTypes = []syncd.EventType{
	syncd.EventRunStarted, syncd.EventRunFinished,
	syncd.EventChangePlanned, syncd.EventChangeApplied, syncd.EventChangeFailed,
	syncd.EventDriftDetected, syncd.EventDriftResolved,
	syncd.EventManifestInvalid, syncd.EventConnectorTested,
}

// row is an event as written: cleaned, keyed, its time at the database's
// precision and its changes in canonical JSON. It is also the spool's line
// format.
type row struct {
	Key              string          `json:"key"`
	OccurredAt       time.Time       `json:"occurred_at"`
	RunID            string          `json:"run_id,omitempty"`
	Type             string          `json:"event_type"`
	Kind             string          `json:"resource_kind,omitempty"`
	Name             string          `json:"resource_name,omitempty"`
	RemoteID         string          `json:"remote_id,omitempty"`
	Action           string          `json:"action,omitempty"`
	Changes          json.RawMessage `json:"changes,omitempty"`
	Outcome          string          `json:"outcome,omitempty"`
	Error            string          `json:"error,omitempty"`
	ManifestRevision string          `json:"manifest_revision,omitempty"`
	Mode             string          `json:"mode,omitempty"`
	Actor            string          `json:"actor,omitempty"`
}

// Record makes events durable, in order: it returns nil only once every
// one is committed to the database or appended and fsync'd to the spool.
// While the spool holds events, new ones go there too, behind them. An
// event without an ID gets one; an event whose ID is already stored is
// not written again. Record spools on any failure to reach the database and
// fails only for events the database would never accept (an unknown type)
// or when the spool itself cannot be written.
func (s *Store) Record(ctx context.Context, events ...syncd.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows, err := s.prepare(events)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("audit: record: store closed")
	}
	if s.readOnly {
		return errors.New("audit: record: store opened read-only")
	}
	if !s.spooling {
		rest, err := s.writeDirect(ctx, rows)
		if err == nil {
			return nil
		}
		if isPermanent(err) {
			return fmt.Errorf("audit: record: %w", err)
		}
		s.setHealthy(false)
		s.log.Warn("audit write failed; spooling", "events", len(rest), "err", err)
		rows = rest
		s.spooling = true
	}
	if err := s.spool.append(rows); err != nil {
		return err
	}
	s.wake()
	return nil
}

// writeDirect writes rows in batches and returns the rows not written when
// a batch fails. The write outlives a cancelled caller: the caller's work
// is done, and its record must not be lost to the cancellation.
func (s *Store) writeDirect(ctx context.Context, rows []row) ([]row, error) {
	ctx = context.WithoutCancel(ctx)
	if err := s.ensureSchema(ctx); err != nil {
		return rows, err
	}
	for len(rows) > 0 {
		n := min(len(rows), s.opts.BatchSize)
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := s.writeRows(wctx, rows[:n])
		cancel()
		if err != nil {
			return rows, err
		}
		s.setHealthy(true)
		rows = rows[n:]
	}
	return nil, nil
}

// auditColumns are the columns written, in CopyFrom order.
var auditColumns = []string{
	"occurred_at", "run_id", "event_type", "resource_kind", "resource_name", "remote_id",
	"action", "changes", "outcome", "error", "manifest_revision", "mode", "actor",
	"event_key", "seq", "prev_hash", "row_hash",
}

// writeRows appends rows in one transaction. Locking the chain head orders
// concurrent writers (other syncd processes too), and the keys already
// stored are skipped, which makes a replay from the spool exactly-once.
func (s *Store) writeRows(ctx context.Context, rows []row) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op

	keys := make([]string, len(rows))
	for i := range rows {
		keys[i] = rows[i].Key
	}
	var b pgx.Batch
	b.Queue("SELECT seq, row_hash FROM audit_chain WHERE id = 1 FOR UPDATE")
	b.Queue("SELECT event_key FROM audit_events WHERE event_key = ANY($1)", keys)
	br := tx.SendBatch(ctx, &b)
	var seq int64
	var head string
	if err := br.QueryRow().Scan(&seq, &head); err != nil {
		br.Close()
		return err
	}
	seen := make(map[string]bool)
	krows, err := br.Query()
	if err != nil {
		br.Close()
		return err
	}
	for krows.Next() {
		var k string
		if err := krows.Scan(&k); err != nil {
			krows.Close()
			br.Close()
			return err
		}
		seen[k] = true
	}
	krows.Close()
	if err := br.Close(); err != nil {
		return err
	}

	data := make([][]any, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		if seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		seq++
		h := rowHash(head, seq, r)
		var changes any
		if r.Changes != nil {
			changes = r.Changes
		}
		data = append(data, []any{
			r.OccurredAt, null(r.RunID), r.Type, null(r.Kind), null(r.Name), null(r.RemoteID),
			null(r.Action), changes, null(r.Outcome), null(r.Error), null(r.ManifestRevision),
			null(r.Mode), null(r.Actor), r.Key, seq, head, h,
		})
		head = h
	}
	if len(data) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_events"}, auditColumns, pgx.CopyFromRows(data)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE audit_chain SET seq = $1, row_hash = $2 WHERE id = 1", seq, head); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// drain writes the spool to the database, oldest first, and returns nil
// once it is empty.
func (s *Store) drain(ctx context.Context) error {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	for {
		rows, end, lines, err := s.spool.next(s.opts.BatchSize)
		if err != nil {
			return err
		}
		if lines == 0 {
			s.mu.Lock()
			if s.spool.off.Load() != s.spool.size.Load() {
				s.mu.Unlock()
				continue // an append landed meanwhile
			}
			err := s.spool.reset()
			if err == nil && s.spooling {
				s.spooling = false
				s.log.Info("audit spool drained")
			}
			s.mu.Unlock()
			return err
		}
		if len(rows) > 0 {
			if err := s.ensureSchema(ctx); err != nil {
				return s.unavailable("drain spool", err)
			}
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := s.writeRows(wctx, rows)
			cancel()
			if err != nil && isPermanent(err) {
				err = s.writeEach(ctx, rows)
			}
			if err != nil {
				return s.unavailable("drain spool", err)
			}
			s.setHealthy(true)
		}
		s.spool.consumed(end, lines)
	}
}

// writeEach writes rows one at a time, setting aside the rows the database
// refuses so that the rest of the spool is not held up behind them.
func (s *Store) writeEach(ctx context.Context, rows []row) error {
	for i := range rows {
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := s.writeRows(wctx, rows[i:i+1])
		cancel()
		if err == nil {
			continue
		}
		if !isPermanent(err) {
			return err
		}
		line, _ := json.Marshal(&rows[i])
		s.log.Error("audit event refused by the database; moved to the rejected file",
			"event_key", rows[i].Key, "event_type", rows[i].Type, "err", err)
		if rerr := s.spool.reject(append(line, '\n')); rerr != nil {
			return rerr
		}
	}
	return nil
}

// prepare validates and cleans events into rows.
func (s *Store) prepare(events []syncd.Event) ([]row, error) {
	rows := make([]row, len(events))
	for i := range events {
		e := &events[i]
		if !slices.Contains(EventTypes, e.Type) {
			return nil, fmt.Errorf("audit: record: event %d: unknown event type %q", i, e.Type)
		}
		key := e.ID
		if key == "" {
			key = newEventID()
		}
		at := e.OccurredAt
		if at.IsZero() {
			at = s.opts.Now()
		}
		changes, err := canonicalChanges(e.Changes)
		if err != nil {
			return nil, fmt.Errorf("audit: record: event %d (%s %s/%s): %w", i, e.Type, e.Kind, e.Name, err)
		}
		rows[i] = row{
			Key:              clean(key),
			OccurredAt:       dbTime(at),
			RunID:            clean(e.RunID),
			Type:             string(e.Type),
			Kind:             clean(string(e.Kind)),
			Name:             clean(e.Name),
			RemoteID:         clean(e.RemoteID),
			Action:           clean(e.Action),
			Changes:          changes,
			Outcome:          clean(e.Outcome),
			Error:            clean(e.Error),
			ManifestRevision: clean(e.ManifestRevision),
			Mode:             clean(string(e.Mode)),
			Actor:            clean(e.Actor),
		}
	}
	return rows, nil
}

// dbTime is t as the database keeps it (microseconds, UTC), so that the
// hash computed now matches the one recomputed from the stored row.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// clean makes s storable as text: valid UTF-8, no NUL.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

// redact enforces the Sensitive contract on changes that claim it, in case a
// producer forgot: a sensitive change is stored only as Redacted.
func redact(fc syncd.FieldChange) syncd.FieldChange {
	if fc.Sensitive {
		if fc.Before != nil {
			fc.Before = syncd.Redacted
		}
		if fc.After != nil {
			fc.After = syncd.Redacted
		}
	}
	return fc
}

// canonicalChanges encodes changes as the canonical JSON that verify
// recomputes from the jsonb column: decoded into plain values and encoded
// again, so that key order and number format are fixed.
func canonicalChanges(changes []syncd.FieldChange) (json.RawMessage, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	cs := make([]syncd.FieldChange, len(changes))
	for i, c := range changes {
		cs[i] = redact(c)
		cs[i].Path = clean(cs[i].Path)
	}
	b, err := json.Marshal(cs)
	if err != nil {
		return nil, fmt.Errorf("encode changes: %w", err)
	}
	// jsonb refuses the NUL character.
	b = bytes.ReplaceAll(b, []byte(`\u0000`), []byte(`\ufffd`))
	return canonicalJSON(b)
}

func canonicalJSON(b []byte) (json.RawMessage, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// rowHash chains a row to the one before it (see hashFields).
func rowHash(prev string, seq int64, r *row) string {
	f := hashInput{
		{r.Key, true},
		{r.OccurredAt.UTC().Format(hashTimeLayout), true},
		{r.RunID, r.RunID != ""},
		{r.Type, true},
		{r.Kind, r.Kind != ""},
		{r.Name, r.Name != ""},
		{r.RemoteID, r.RemoteID != ""},
		{r.Action, r.Action != ""},
		{string(r.Changes), r.Changes != nil},
		{r.Outcome, r.Outcome != ""},
		{r.Error, r.Error != ""},
		{r.ManifestRevision, r.ManifestRevision != ""},
		{r.Mode, r.Mode != ""},
		{r.Actor, r.Actor != ""},
	}
	return hashFields(prev, seq, &f)
}

// hashField is one column's value; ok is false for SQL NULL.
type hashField struct {
	s  string
	ok bool
}

// hashInput is a row's columns in a fixed order: event_key, occurred_at,
// run_id, event_type, resource_kind, resource_name, remote_id, action,
// changes (canonical JSON), outcome, error, manifest_revision, mode, actor.
type hashInput [14]hashField

// hashFields is sha256 over the previous row's hash, the row's seq and an
// unambiguous encoding of its columns (length-prefixed, NULL distinct from
// the empty string), hex-encoded.
func hashFields(prev string, seq int64, f *hashInput) string {
	n := 64 + len(prev)
	for _, x := range f {
		n += len(x.s) + 8
	}
	buf := make([]byte, 0, n)
	buf = appendField(buf, prev, true)
	buf = strconv.AppendInt(buf, seq, 10)
	buf = append(buf, ';')
	for _, x := range f {
		buf = appendField(buf, x.s, x.ok)
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

const hashTimeLayout = "2006-01-02T15:04:05.000000Z"

func appendField(buf []byte, s string, ok bool) []byte {
	if !ok {
		return append(buf, '~', ';')
	}
	buf = strconv.AppendInt(buf, int64(len(s)), 10)
	buf = append(buf, ':')
	buf = append(buf, s...)
	return append(buf, ';')
}

// null stores an empty string as SQL NULL.
func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// newEventID is a random UUID (version 4).
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
