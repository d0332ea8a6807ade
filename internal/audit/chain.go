package audit

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// keyedPrefix marks a row hash made with the audit key (HMAC-SHA256).
// A row hash without it is the plain SHA-256 of rows written before the
// chain was keyed.
const keyedPrefix = "h1:"

// errChainKeyed refuses to extend a keyed chain without its key: the rows
// would carry plain hashes, which verify reports as forged.
var errChainKeyed = errors.New("audit: the audit chain is keyed: set SYNCD_AUDIT_KEY (or SYNCD_AUDIT_KEY_FILE) to write to it")

// chainHash hashes buf with key (HMAC-SHA256, prefixed) or, without a key,
// with plain SHA-256 (the pre-key format).
func chainHash(key, buf []byte) string {
	if len(key) == 0 {
		sum := sha256.Sum256(buf)
		return hex.EncodeToString(sum[:])
	}
	m := hmac.New(sha256.New, key)
	m.Write(buf)
	return keyedPrefix + hex.EncodeToString(m.Sum(nil))
}

// Checkpoint is a signed head of the audit chain, meant to be kept outside
// the database (a file, a log line, git, a ticket): the row id and row
// hash of the last row at Time, and the first keyed row. Its signature is
// an HMAC with a key derived from the audit key, so it cannot be made
// without the key.
type Checkpoint struct {
	ID        int64
	Hash      string
	Time      time.Time
	KeyedFrom int64 // 0: the chain was not keyed then
	Sig       string
}

const checkpointMagic = "syncd-audit-checkpoint/v1"

func (c Checkpoint) payload() string {
	return fmt.Sprintf("%s id=%d hash=%s time=%s keyed_from=%d", checkpointMagic, c.ID, orDash(c.Hash),
		c.Time.UTC().Format(time.RFC3339Nano), c.KeyedFrom)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// String is the checkpoint's one-line form, parsed by ParseCheckpoint.
func (c Checkpoint) String() string { return c.payload() + " sig=" + c.Sig }

func checkpointSig(key []byte, payload string) string {
	k := hmac.New(sha256.New, key)
	k.Write([]byte("syncd audit checkpoint key"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}

// SignCheckpoint signs c with the audit key.
func SignCheckpoint(key []byte, c Checkpoint) Checkpoint {
	c.Sig = checkpointSig(key, c.payload())
	return c
}

// ParseCheckpoint reads a checkpoint line (as printed by String; text
// around it, such as a log line's, is ignored) and checks its signature.
func ParseCheckpoint(key []byte, line string) (Checkpoint, error) {
	i := strings.Index(line, checkpointMagic)
	if i < 0 {
		return Checkpoint{}, errors.New("not a syncd audit checkpoint")
	}
	var c Checkpoint
	fields := strings.Fields(strings.Trim(line[i:], `"'`))
	seen := map[string]bool{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(strings.Trim(f, `"',{}\`), "=")
		if !ok {
			continue
		}
		var err error
		switch k {
		case "id":
			c.ID, err = strconv.ParseInt(v, 10, 64)
		case "hash":
			if v != "-" {
				c.Hash = v
			}
		case "time":
			c.Time, err = time.Parse(time.RFC3339Nano, v)
		case "keyed_from":
			c.KeyedFrom, err = strconv.ParseInt(v, 10, 64)
		case "sig":
			c.Sig = v
		default:
			continue
		}
		if err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint %s: %w", k, err)
		}
		seen[k] = true
	}
	for _, k := range []string{"id", "hash", "time", "keyed_from", "sig"} {
		if !seen[k] {
			return Checkpoint{}, fmt.Errorf("checkpoint: %s missing", k)
		}
	}
	if len(key) == 0 {
		return Checkpoint{}, errors.New("checkpoint: no audit key to check its signature (set SYNCD_AUDIT_KEY)")
	}
	if !hmac.Equal([]byte(checkpointSig(key, c.payload())), []byte(c.Sig)) {
		return Checkpoint{}, errors.New("checkpoint: bad signature (another key, or edited)")
	}
	return c, nil
}

// checkpointFile is the file in a checkpoint directory that keeps every
// checkpoint syncd wrote, one per line, newest last.
const checkpointFile = "audit-checkpoints.log"

// syncFile flushes f to stable storage; a variable so that a test can see
// every write that must survive a power loss reach it.
var syncFile = (*os.File).Sync

// AppendCheckpoint adds c to dir's checkpoint file (fsync'd).
func AppendCheckpoint(dir string, c Checkpoint) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, checkpointFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	_, werr := f.WriteString(c.String() + "\n")
	if werr == nil {
		werr = syncFile(f)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("audit: checkpoint: %w", werr)
	}
	return nil
}

// ReadCheckpoints reads every line of the files given (a directory means
// its checkpoint file) that holds a checkpoint. A line that names itself a
// checkpoint but does not verify is an error: someone edited it, or it was
// made with another key.
func ReadCheckpoints(key []byte, paths ...string) ([]Checkpoint, error) {
	var out []Checkpoint
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			p = filepath.Join(p, checkpointFile)
		}
		f, err := os.Open(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("audit: checkpoints: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		n := 0
		for sc.Scan() {
			n++
			if !strings.Contains(sc.Text(), checkpointMagic) {
				continue
			}
			c, err := ParseCheckpoint(key, sc.Text())
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s:%d: %w", p, n, err)
			}
			out = append(out, c)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("audit: checkpoints: %s: %w", p, err)
		}
	}
	return out, nil
}

// Head reads the chain head (read-only) as an unsigned checkpoint at now.
func (s *Store) Head(ctx context.Context) (Checkpoint, error) {
	var c Checkpoint
	var keyedFrom *int64
	if err := s.pool.QueryRow(ctx, `SELECT last_id, row_hash, keyed_from FROM audit_chain WHERE id = 1`).Scan(&c.ID, &c.Hash, &keyedFrom); err != nil {
		return c, s.unavailable("chain head", err)
	}
	if keyedFrom != nil {
		c.KeyedFrom = *keyedFrom
	}
	c.Time = s.opts.Now().UTC()
	return c, nil
}

// SignedHead is Head signed with the store's audit key.
func (s *Store) SignedHead(ctx context.Context) (Checkpoint, error) {
	if len(s.opts.ChainKey) == 0 {
		return Checkpoint{}, errors.New("audit: checkpoint: no audit key (set SYNCD_AUDIT_KEY or SYNCD_AUDIT_KEY_FILE)")
	}
	c, err := s.Head(ctx)
	if err != nil {
		return c, err
	}
	return SignCheckpoint(s.opts.ChainKey, c), nil
}

// WriteCheckpoint signs the chain head and appends it to the checkpoint
// directory. It does nothing (and returns ok false) without a key or a
// directory.
func (s *Store) WriteCheckpoint(ctx context.Context) (Checkpoint, bool, error) {
	if len(s.opts.ChainKey) == 0 || s.opts.CheckpointDir == "" {
		return Checkpoint{}, false, nil
	}
	c, err := s.SignedHead(ctx)
	if err != nil {
		return c, false, err
	}
	s.cpMu.Lock()
	defer s.cpMu.Unlock()
	// A head that has not moved is not written again: a daemon scanning
	// every few seconds without changes would grow the file for nothing.
	if c.ID == s.lastCheckpoint.ID && c.Hash == s.lastCheckpoint.Hash {
		return c, true, nil
	}
	if err := AppendCheckpoint(s.opts.CheckpointDir, c); err != nil {
		return c, false, err
	}
	s.lastCheckpoint = c
	return c, true, nil
}
