package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
)

// spool is an append-only file of events, one JSON object a line, that
// holds what could not be written to the database. Appends are fsync'd
// before Record returns. The drainer reads from off (the first event not
// yet in the database); when it has caught up the file is truncated.
// Lines before off that a crash left behind are harmless: the database
// skips event keys it already has.
type spool struct {
	f        *os.File
	rejected string
	size     atomic.Int64 // bytes appended and synced
	off      atomic.Int64 // bytes already written to the database
	count    atomic.Int64 // events between off and size
}

const spoolFile = "events.jsonl"

func openSpool(dir string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: spool: %w", err)
	}
	path := filepath.Join(dir, spoolFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: spool: %w", err)
	}
	// Two processes appending to one spool would interleave their orders.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: spool %s is in use by another process: %w", dir, err)
	}
	sp := &spool{f: f, rejected: filepath.Join(dir, "rejected.jsonl")}
	if err := sp.recover(); err != nil {
		f.Close()
		return nil, err
	}
	return sp, nil
}

// recover counts the events in the file and cuts off a last line that a
// crash left half-written: its Record never returned, so it was never
// promised to anyone.
func (sp *spool) recover() error {
	data, err := io.ReadAll(io.NewSectionReader(sp.f, 0, 1<<62))
	if err != nil {
		return fmt.Errorf("audit: read spool: %w", err)
	}
	end := bytes.LastIndexByte(data, '\n') + 1
	if end != len(data) {
		if err := sp.f.Truncate(int64(end)); err != nil {
			return fmt.Errorf("audit: repair spool: %w", err)
		}
		if err := sp.f.Sync(); err != nil {
			return fmt.Errorf("audit: repair spool: %w", err)
		}
	}
	sp.size.Store(int64(end))
	sp.count.Store(int64(bytes.Count(data[:end], []byte{'\n'})))
	return nil
}

func (sp *spool) depth() int { return int(sp.count.Load()) }

// append writes rows and syncs them. Callers serialise appends.
func (sp *spool) append(rows []row) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one line per value
	for i := range rows {
		if err := enc.Encode(&rows[i]); err != nil {
			return fmt.Errorf("audit: spool: encode event: %w", err)
		}
	}
	if _, err := sp.f.Write(buf.Bytes()); err != nil {
		sp.cutBackTo(sp.size.Load())
		return fmt.Errorf("audit: spool: %w", err)
	}
	if err := sp.f.Sync(); err != nil {
		return fmt.Errorf("audit: spool: fsync: %w", err)
	}
	sp.size.Add(int64(buf.Len()))
	sp.count.Add(int64(len(rows)))
	return nil
}

// cutBackTo undoes a partial append so that the next one starts on a
// line of its own.
func (sp *spool) cutBackTo(size int64) {
	_ = sp.f.Truncate(size)
}

// next reads up to max events from off. It returns the rows, the offset
// after them, and how many lines it consumed (undecodable lines are moved to
// the rejected file and counted, never retried forever).
func (sp *spool) next(max int) (rows []row, end int64, lines int, err error) {
	off, size := sp.off.Load(), sp.size.Load()
	r := bufio.NewReaderSize(io.NewSectionReader(sp.f, off, size-off), 64<<10)
	end = off
	for len(rows) < max {
		line, _ := r.ReadBytes('\n')
		if len(line) == 0 || line[len(line)-1] != '\n' {
			break // end of what was synced
		}
		end += int64(len(line))
		lines++
		var rw row
		if jerr := json.Unmarshal(line, &rw); jerr != nil || rw.Key == "" {
			if rerr := sp.reject(line); rerr != nil {
				return nil, off, 0, rerr
			}
			continue
		}
		rows = append(rows, rw)
	}
	return rows, end, lines, nil
}

// consumed records that everything before end is in the database.
func (sp *spool) consumed(end int64, lines int) {
	sp.off.Store(end)
	sp.count.Add(-int64(lines))
}

// reset empties the file once the drainer has caught up. Callers hold the
// store's mu so that no append races it.
func (sp *spool) reset() error {
	if sp.off.Load() != sp.size.Load() {
		return errors.New("audit: spool reset while events remain")
	}
	if err := sp.f.Truncate(0); err != nil {
		return fmt.Errorf("audit: spool: %w", err)
	}
	if err := sp.f.Sync(); err != nil {
		return fmt.Errorf("audit: spool: %w", err)
	}
	sp.size.Store(0)
	sp.off.Store(0)
	sp.count.Store(0)
	return nil
}

// reject keeps a line the database will never accept, for a person to look
// at, instead of blocking the events behind it.
func (sp *spool) reject(line []byte) error {
	f, err := os.OpenFile(sp.rejected, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: spool: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("audit: spool: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit: spool: %w", err)
	}
	return f.Close()
}

func (sp *spool) close() error {
	return sp.f.Close()
}
