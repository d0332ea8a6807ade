package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/syncd/syncd/internal/pgstore"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/syncd"
)

// copyColumnOIDs are the types copyStream encodes each column as.
var copyColumnOIDs = map[string]uint32{"id": pgtype.Int8OID, "occurred_at": pgtype.TimestamptzOID, "changes": pgtype.JSONBOID}

func copyColumnOID(col string) uint32 {
	if oid, ok := copyColumnOIDs[col]; ok {
		return oid
	}
	return pgtype.TextOID
}

// copyTestRows are rows of every shape: NULL and set columns, odd text,
// times before 2000 and with nanoseconds, no changes, and one row larger
// than the connection's 64 KiB read.
func copyTestRows(t *testing.T) []*row {
	t.Helper()
	base := syncd.Event{
		ID: "k-1", OccurredAt: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600)), RunID: "run",
		Type: syncd.EventChangeApplied, Kind: syncd.MakeConnection, Name: "acme", RemoteID: "app-1", Action: "update",
		Outcome: "ok", Error: "boom", ManifestRevision: "rev", Mode: syncd.ModeApply, Actor: "ci",
		Changes: []syncd.FieldChange{
			{Path: "/label", Before: "a<b>", After: map[string]any{"z": 1.5, "a": []any{nil, true}}},
			{Path: "/secret", Before: "raw", After: "raw2", Sensitive: true},
		},
	}
	events := []syncd.Event{
		base,
		{ID: "k-2", Type: syncd.EventRunStarted},
		{ID: "k-3\x00\xff é", OccurredAt: time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC), Type: syncd.EventDriftDetected,
			Name: "n\x00\xfe", Error: "\u2028", Changes: []syncd.FieldChange{{Path: "/n", Before: 3, After: int64(1) << 60}}},
		{ID: "k-4", OccurredAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Type: syncd.EventRunFinished, Changes: []syncd.FieldChange{}},
	}
	// Lengths at each digit boundary of the hash input's length prefixes.
	events = append(events, syncd.Event{ID: "k-digits", Type: syncd.EventRunFinished, Outcome: strings.Repeat("o", 9),
		Action: strings.Repeat("a", 10), Mode: syncd.Mode(strings.Repeat("m", 99)), Actor: strings.Repeat("x", 100)})
	big := base
	big.ID, big.Error = "k-big", strings.Repeat("0123456789", 10_000)
	events = append(events, big)
	for i := range 200 {
		e := base
		e.ID = fmt.Sprintf("k-many-%d", i)
		events = append(events, e)
	}
	s := &Store{opts: Options{Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC) }}}
	rows, err := s.prepare(events)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*row, len(rows))
	for i := range rows {
		out[i] = &rows[i]
	}
	return out
}

// pgxCopyData is the COPY data pgx's CopyFrom sent for rows (what Record
// wrote before copyStream): each value encoded by pgx's type map, hashes
// by chainHash. It returns the data and the chain head.
func pgxCopyData(t *testing.T, rows []*row, first int64, head string, key []byte) ([]byte, string) {
	t.Helper()
	m := pgtype.NewMap()
	buf := []byte(copyHeader)
	text := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	for i, r := range rows {
		id := first + int64(i)
		hash := hashFields(key, head, id, rowFields(r))
		var changes any
		if r.Changes != nil {
			changes = r.Changes
		}
		vals := []any{id, r.OccurredAt, text(r.RunID), r.Type, text(r.Kind), text(r.Name), text(r.RemoteID),
			text(r.Action), changes, text(r.Outcome), text(r.Error), text(r.ManifestRevision), text(r.Mode), text(r.Actor),
			r.Key, head, hash}
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(vals)))
		for j, v := range vals {
			at := len(buf)
			buf = binary.BigEndian.AppendUint32(buf, 0xffffffff)
			enc, err := m.Encode(copyColumnOID(auditColumns[j]), pgtype.BinaryFormatCode, v, buf)
			if err != nil {
				t.Fatalf("row %d column %s: %v", i, auditColumns[j], err)
			}
			if enc != nil {
				buf = enc
				binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
			}
		}
		head = hash
	}
	return append(buf, copyTrailer...), head
}

// rowFields is r as verify hashes it: the time formatted by its layout.
func rowFields(r *row) *hashInput {
	text := func(s string) hashField { return hashField{s: s, ok: s != ""} }
	return &hashInput{
		{s: r.Key, ok: true}, {s: r.OccurredAt.UTC().Format(hashTimeLayout), ok: true}, text(r.RunID), {s: r.Type, ok: true},
		text(r.Kind), text(r.Name), text(r.RemoteID), text(r.Action), {b: r.Changes, ok: r.Changes != nil},
		text(r.Outcome), text(r.Error), text(r.ManifestRevision), text(r.Mode), text(r.Actor),
	}
}

// TestRowHashInputIsHashFields: what Record hashes for a row is what
// verify hashes for it.
func TestRowHashInputIsHashFields(t *testing.T) {
	for _, prev := range []string{"", "5234a93414aeb3ecac44396c4d233127286e9ee4b0204243dfdc2fb977d978f6", "h1:x"} {
		for i, r := range copyTestRows(t) {
			id := int64(i) * 997
			got := appendRowHashInput([]byte("junk"), []byte(prev), id, r)
			want := appendHashInput([]byte("junk"), hashField{s: prev, ok: true}, id, rowFields(r))
			if !bytes.Equal(got, want) {
				t.Fatalf("row %d (prev %q):\n got %q\nwant %q", i, prev, got, want)
			}
		}
	}
}

// TestCleanIsText: clean's shortcut changes nothing pgstore.Text would
// change, wherever the byte it must notice is.
func TestCleanIsText(t *testing.T) {
	inputs := []string{"", "a", "plain ascii, long enough for several words", "é", "\xff", "\x00", "\u2028", "\x7f"}
	for n := range 20 {
		for at := range n {
			for _, c := range []string{"\x00", "\x80", "\xff", "é", "\xc3"} {
				s := []byte(strings.Repeat("x", n))
				inputs = append(inputs, string(s[:at])+c+string(s[at+1:]))
			}
		}
	}
	for _, s := range inputs {
		if got, want := clean(s), pgstore.Text(s); got != want {
			t.Errorf("clean(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestCopyStreamIsPgxEncoding: copyStream's COPY data is byte for byte
// what pgx encoded for the same rows, with the same hash chain, however
// the connection sizes its reads.
func TestCopyStreamIsPgxEncoding(t *testing.T) {
	rows := copyTestRows(t)
	key := []byte("copy-test-key")
	tests := []struct {
		name string
		head string
		key  []byte
	}{
		{"empty chain", "", nil},
		{"plain", "5234a93414aeb3ecac44396c4d233127286e9ee4b0204243dfdc2fb977d978f6", nil},
		{"keyed", "h1:4752ebc2c31c2966cd293e28051ed273826e34d4b59de5704aa36a401bd88582", key},
		{"keyed after plain", "7b728c251c75d0100ca1c98cd13efcdb066c6acb99399e3553b74a46c7c58e86", key},
	}
	for _, tt := range tests {
		want, wantHead := pgxCopyData(t, rows, 41, tt.head, tt.key)
		for _, size := range []int{1, 7, 4096, 65531, 1 << 20} {
			t.Run(fmt.Sprintf("%s/read %d", tt.name, size), func(t *testing.T) {
				src := newCopyStream(rows, 41, tt.head, tt.key)
				var got []byte
				p := make([]byte, size)
				for {
					n, err := src.Read(p)
					got = append(got, p[:n]...)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if n == 0 {
						t.Fatal("Read returned 0 bytes and no error")
					}
				}
				if !bytes.Equal(got, want) {
					i := 0
					for i < min(len(got), len(want)) && got[i] == want[i] {
						i++
					}
					t.Fatalf("COPY data differs from pgx's at byte %d of %d (got %d bytes)", i, len(want), len(got))
				}
				if src.head() != wantHead || src.next != len(rows) {
					t.Errorf("head %q after %d rows, want %q after %d", src.head(), src.next, wantHead, len(rows))
				}
			})
		}
	}
}

// TestCopyStreamEmpty: without rows the stream is a valid empty COPY and
// the head is unchanged.
func TestCopyStreamEmpty(t *testing.T) {
	src := newCopyStream(nil, 1, "h1:abc", nil)
	got, err := io.ReadAll(src)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != copyHeader+copyTrailer || src.head() != "h1:abc" {
		t.Errorf("got %q, head %q", got, src.head())
	}
}

// TestCopyColumnTypes: the columns copyStream writes have, after every
// migration, the types it encodes them as (binary COPY does not convert).
func TestCopyColumnTypes(t *testing.T) {
	dsn := pgtest.DatabaseFrom(t, "audit-migrated", pgstore.MigrateURL)
	conn := pgtest.Connect(t, dsn)
	rows, err := conn.Query(context.Background(), `SELECT attname, atttypid FROM pg_attribute
		WHERE attrelid = 'audit_events'::regclass AND attnum > 0 AND NOT attisdropped`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint32{}
	for rows.Next() {
		var name string
		var oid uint32
		if err := rows.Scan(&name, &oid); err != nil {
			t.Fatal(err)
		}
		got[name] = oid
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want, written := map[string]uint32{}, map[string]uint32{}
	for _, c := range auditColumns {
		want[c] = copyColumnOID(c)
		if oid, ok := got[c]; ok {
			written[c] = oid
		}
	}
	if diff := cmp.Diff(want, written); diff != "" {
		t.Errorf("types of the columns written (-encoded +table):\n%s", diff)
	}
}

// BenchmarkEncode measures the Go side of Record for a batch of 1000
// events like BenchmarkRecorder's, without the database: validation and
// cleaning, canonical JSON, the hash chain and the COPY data.
func BenchmarkEncode(b *testing.B) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	evs := make([]syncd.Event, 1000)
	for i := range evs {
		evs[i] = syncd.Event{
			ID: fmt.Sprintf("bench-%d", i), OccurredAt: t0.Add(time.Duration(i) * time.Millisecond), RunID: "bench-run",
			Type: syncd.EventChangeApplied, Kind: syncd.MakeConnection, Name: fmt.Sprintf("conn-%d", i%50),
			RemoteID: fmt.Sprintf("custom-app-%d", i%50), Action: "update", Outcome: "ok", Mode: syncd.ModeApply, Actor: "bench@host",
			Changes: []syncd.FieldChange{
				{Path: "/label", Before: "Old label", After: "New label"},
				{Path: "/common/clientSecret", Before: syncd.Redacted, After: syncd.Redacted, Sensitive: true},
			},
		}
	}
	s := &Store{opts: Options{Now: time.Now}}
	p := make([]byte, 65531)
	b.ReportAllocs()
	for b.Loop() {
		rows, err := s.prepare(evs)
		if err != nil {
			b.Fatal(err)
		}
		todo := make([]*row, len(rows))
		for i := range rows {
			todo[i] = &rows[i]
		}
		src := newCopyStream(todo, 1, "", nil)
		for {
			if _, err := src.Read(p); err == io.EOF {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}
