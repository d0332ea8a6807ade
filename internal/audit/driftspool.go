package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/syncd/syncd/internal/syncd"
)

// driftSpoolFile holds drift scans made while PostgreSQL was unreachable,
// one JSON object a line, oldest first, in the spool directory.
const driftSpoolFile = "drift.jsonl"

// driftScanWire is DriftScan as spooled (map keys of type syncd.Key do not
// encode as JSON object keys).
type driftScanWire struct {
	RunID            string            `json:"run_id"`
	Mode             string            `json:"mode"`
	Actor            string            `json:"actor"`
	ManifestRevision string            `json:"manifest_revision"`
	ObservedAt       time.Time         `json:"observed_at"`
	Scanned          []syncd.Key       `json:"scanned"`
	Drifted          []driftedWire     `json:"drifted"`
	DesiredHashes    []desiredHashWire `json:"desired_hashes"`
}

type driftedWire struct {
	Key syncd.Key        `json:"key"`
	Obs DriftObservation `json:"observation"`
}

type desiredHashWire struct {
	Key  syncd.Key `json:"key"`
	Hash string    `json:"hash"`
}

func toWire(s DriftScan) driftScanWire {
	w := driftScanWire{RunID: s.Run.ID, Mode: string(s.Run.Mode), Actor: s.Run.Actor, ManifestRevision: s.Run.ManifestRevision,
		ObservedAt: s.ObservedAt, Scanned: s.Scanned}
	for k, o := range s.Drifted {
		w.Drifted = append(w.Drifted, driftedWire{k, o})
	}
	for k, h := range s.DesiredHashes {
		w.DesiredHashes = append(w.DesiredHashes, desiredHashWire{k, h})
	}
	return w
}

func (w driftScanWire) scan() DriftScan {
	s := DriftScan{Run: syncd.Run{ID: w.RunID, Mode: syncd.Mode(w.Mode), Actor: w.Actor, ManifestRevision: w.ManifestRevision},
		ObservedAt: w.ObservedAt, Scanned: w.Scanned,
		Drifted: map[syncd.Key]DriftObservation{}, DesiredHashes: map[syncd.Key]string{}}
	for _, d := range w.Drifted {
		s.Drifted[d.Key] = d.Obs
	}
	for _, h := range w.DesiredHashes {
		s.DesiredHashes[h.Key] = h.Hash
	}
	return s
}

// ObserveDrift is ScanDrift that survives an outage: a scan the database
// cannot take is spooled (fsync'd, with its time) and fed to ScanDrift, in
// order, before the next scan once the database is back. spooled reports
// that this scan waits in the spool.
func (s *Store) ObserveDrift(ctx context.Context, scan DriftScan) (events []syncd.Event, spooled bool, err error) {
	if s.readOnly {
		return nil, false, errors.New("audit: observe drift: store opened read-only")
	}
	if scan.ObservedAt.IsZero() {
		scan.ObservedAt = s.opts.Now()
	}
	s.driftMu.Lock()
	defer s.driftMu.Unlock()
	path := filepath.Join(s.opts.SpoolDir, driftSpoolFile)
	pending, err := readDriftSpool(path)
	if err != nil {
		return nil, false, err
	}
	pending = append(pending, scan)
	for i, p := range pending {
		evs, err := s.ScanDrift(ctx, p)
		if err == nil {
			if i == len(pending)-1 {
				events = evs
			}
			continue
		}
		if !errors.Is(err, ErrUnavailable) {
			// The database answered and refused: keep the rest for a
			// later try, but say so.
			if werr := writeDriftSpool(path, pending[i:]); werr != nil {
				return nil, false, werr
			}
			return nil, true, err
		}
		if werr := writeDriftSpool(path, pending[i:]); werr != nil {
			return nil, false, werr
		}
		if i > 0 || len(pending) > 1 {
			s.log.Warn("drift observations spooled until the database is back", "scans", len(pending)-i)
		}
		return nil, true, nil
	}
	if len(pending) > 1 {
		s.log.Info("spooled drift observations written", "scans", len(pending)-1)
	}
	return events, false, writeDriftSpool(path, nil)
}

// DriftSpoolDepth is the number of drift scans waiting in the spool.
func (s *Store) DriftSpoolDepth() int {
	if s.readOnly {
		return 0
	}
	s.driftMu.Lock()
	defer s.driftMu.Unlock()
	p, _ := readDriftSpool(filepath.Join(s.opts.SpoolDir, driftSpoolFile))
	return len(p)
}

func readDriftSpool(path string) ([]DriftScan, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: drift spool: %w", err)
	}
	var out []DriftScan
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var w driftScanWire
		if err := json.Unmarshal(sc.Bytes(), &w); err != nil {
			// A line a crash cut short was never promised to anyone.
			continue
		}
		out = append(out, w.scan())
	}
	return out, sc.Err()
}

// writeDriftSpool replaces the spool with scans (removes it when none),
// atomically and durably.
func writeDriftSpool(path string, scans []DriftScan) error {
	if len(scans) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("audit: drift spool: %w", err)
		}
		return nil
	}
	var buf bytes.Buffer
	for _, sc := range scans {
		b, err := json.Marshal(toWire(sc))
		if err != nil {
			return fmt.Errorf("audit: drift spool: %w", err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("audit: drift spool: %w", err)
	}
	_, werr := f.Write(buf.Bytes())
	if werr == nil {
		werr = syncFile(f)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr == nil {
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			werr = syncFile(d)
			d.Close()
		}
	}
	if werr != nil {
		return fmt.Errorf("audit: drift spool: %w", werr)
	}
	return nil
}
