package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"
	"strings"
)

// auditColumns are the columns written, in COPY order.
var auditColumns = []string{
	"id", "occurred_at", "run_id", "event_type", "resource_kind", "resource_name", "remote_id",
	"action", "changes", "outcome", "error", "manifest_revision", "mode", "actor",
	"event_key", "prev_hash", "row_hash",
}

// copySQL starts the binary COPY that copyStream feeds.
var copySQL = `COPY audit_events ("` + strings.Join(auditColumns, `", "`) + `") FROM STDIN BINARY`

// copyHeader starts PostgreSQL's binary COPY format: the signature, no
// flags, no header extension.
const copyHeader = "PGCOPY\n\377\r\n\000" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// copyTrailer ends it: a field count of -1.
const copyTrailer = "\xff\xff"

// pgEpochMicros is 2000-01-01T00:00:00Z, PostgreSQL's epoch for
// timestamps, in microseconds since the Unix epoch.
const pgEpochMicros = 946_684_800 * 1_000_000

// copyStream is a batch's rows in PostgreSQL's binary COPY format, made as
// the connection reads it. Each row is chained to the one before it as it
// is encoded, so that hashing overlaps the database's work on the rows
// sent before. The columns are written as their binary send functions
// expect them: id as int8, occurred_at as timestamptz (microseconds since
// 2000), changes as jsonb (version 1, then the text), the rest as text;
// the bytes are those pgx's CopyFrom wrote for the same values
// (TestCopyStreamIsPgxEncoding), without its per-value type lookups,
// reflection and boxing, plus the trailer the format ends with (which pgx
// leaves out). A migration that changes a column's type must change this too
// (TestCopyColumnTypes).
type copyStream struct {
	rows []*row
	next int   // rows[next] is the next row to encode
	id   int64 // its id
	key  []byte
	mac  hash.Hash // with key: reset for every row
	sum  [sha256.Size]byte
	// prev and cur are the chain hashes (as stored: hex, prefixed when
	// keyed) of the row before the one encoded last, and of that row.
	prev, cur []byte
	input     []byte // a row's hash input
	buf       []byte // what was encoded last
	pending   []byte // the part of it Read has not returned yet
	ended     bool   // the trailer is encoded
}

// newCopyStream streams rows with ids from first on, chained to head.
func newCopyStream(rows []*row, first int64, head string, key []byte) *copyStream {
	c := &copyStream{rows: rows, id: first, key: key,
		prev: make([]byte, 0, len(keyedPrefix)+hex.EncodedLen(sha256.Size)),
		cur:  append(make([]byte, 0, max(len(head), len(keyedPrefix)+hex.EncodedLen(sha256.Size))), head...),
		buf:  make([]byte, 0, 4096)}
	if len(key) > 0 {
		c.mac = hmac.New(sha256.New, key)
	}
	c.pending = append(c.buf, copyHeader...)
	return c
}

// head is the chain hash of the last row encoded (the head given when
// none was).
func (c *copyStream) head() string { return string(c.cur) }

// Read fills p with whole or partial rows; the rows are encoded only as
// they are read.
func (c *copyStream) Read(p []byte) (int, error) {
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	for n < len(p) {
		// pending is empty here: its bytes, in buf, may be overwritten.
		switch {
		case c.next < len(c.rows):
			c.buf = c.appendRow(c.buf[:0], c.rows[c.next])
			c.next++
			c.id++
		case !c.ended:
			c.buf = append(c.buf[:0], copyTrailer...)
			c.ended = true
		case n == 0:
			return 0, io.EOF
		default:
			return n, nil
		}
		k := copy(p[n:], c.buf)
		n += k
		c.pending = c.buf[k:]
	}
	return n, nil
}

// appendRow chains r to the row before it and appends its tuple to buf.
func (c *copyStream) appendRow(buf []byte, r *row) []byte {
	c.prev, c.cur = c.cur, c.prev
	c.input = appendRowHashInput(c.input[:0], c.prev, c.id, r)
	c.cur = c.appendChainHash(c.cur[:0], c.input)

	buf = binary.BigEndian.AppendUint16(buf, uint16(len(auditColumns)))
	buf = binary.BigEndian.AppendUint32(buf, 8)
	buf = binary.BigEndian.AppendUint64(buf, uint64(c.id))
	at := r.OccurredAt
	buf = binary.BigEndian.AppendUint32(buf, 8)
	buf = binary.BigEndian.AppendUint64(buf, uint64(at.Unix()*1_000_000+int64(at.Nanosecond())/1000-pgEpochMicros))
	buf = appendCopyText(buf, r.RunID)
	buf = appendCopyBytes(buf, r.Type)
	buf = appendCopyText(buf, r.Kind)
	buf = appendCopyText(buf, r.Name)
	buf = appendCopyText(buf, r.RemoteID)
	buf = appendCopyText(buf, r.Action)
	if r.Changes == nil {
		buf = append(buf, 0xff, 0xff, 0xff, 0xff)
	} else {
		buf = binary.BigEndian.AppendUint32(buf, uint32(1+len(r.Changes)))
		buf = append(buf, 1) // jsonb's binary format version
		buf = append(buf, r.Changes...)
	}
	buf = appendCopyText(buf, r.Outcome)
	buf = appendCopyText(buf, r.Error)
	buf = appendCopyText(buf, r.ManifestRevision)
	buf = appendCopyText(buf, r.Mode)
	buf = appendCopyText(buf, r.Actor)
	buf = appendCopyBytes(buf, r.Key)
	buf = appendCopyBytes(buf, c.prev)
	return appendCopyBytes(buf, c.cur)
}

// appendChainHash appends chainHash(c.key, input) to dst.
func (c *copyStream) appendChainHash(dst, input []byte) []byte {
	// sum is a field: a local array would escape to the heap through
	// the interface call, on every row.
	if c.mac == nil {
		c.sum = sha256.Sum256(input)
	} else {
		c.mac.Reset()
		c.mac.Write(input)
		c.mac.Sum(c.sum[:0])
		dst = append(dst, keyedPrefix...)
	}
	return hex.AppendEncode(dst, c.sum[:])
}

// appendCopyText appends a text field, the empty string as NULL.
func appendCopyText(buf []byte, s string) []byte {
	if s == "" {
		return append(buf, 0xff, 0xff, 0xff, 0xff)
	}
	return appendCopyBytes(buf, s)
}

// appendCopyBytes appends a field of the bytes of s.
func appendCopyBytes[T string | []byte](buf []byte, s T) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}
