package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/syncd/syncd/internal/audit"
)

// minAuditKey is the shortest audit key accepted, in bytes.
const minAuditKey = 16

// auditKeyFlag is the key of the audit hash chain and where checkpoints
// of its head are kept; both live outside the database.
type auditKeyFlag struct {
	AuditKey      string `name:"audit-key" env:"SYNCD_AUDIT_KEY" hidden:"" help:"Key of the audit hash chain (prefer the environment or --audit-key-file)."`
	AuditKeyFile  string `name:"audit-key-file" env:"SYNCD_AUDIT_KEY_FILE" type:"path" help:"File holding the key of the audit hash chain (instead of SYNCD_AUDIT_KEY)."`
	CheckpointDir string `name:"checkpoint-dir" env:"SYNCD_CHECKPOINT_DIR" default:".syncd/checkpoints" type:"path" help:"Directory of signed audit chain heads, written after every run and compared by audit verify."`
}

// key returns the audit key, nil when none is configured.
func (f auditKeyFlag) key() ([]byte, error) {
	if f.AuditKey != "" && f.AuditKeyFile != "" {
		return nil, errors.New("set SYNCD_AUDIT_KEY or SYNCD_AUDIT_KEY_FILE, not both")
	}
	k := []byte(f.AuditKey)
	if f.AuditKeyFile != "" {
		fh, err := os.Open(f.AuditKeyFile)
		if err != nil {
			return nil, fmt.Errorf("audit key file: %w", err)
		}
		defer fh.Close()
		if st, err := fh.Stat(); err != nil || !st.Mode().IsRegular() {
			return nil, fmt.Errorf("audit key file %s: not a regular file", f.AuditKeyFile)
		}
		b, err := io.ReadAll(io.LimitReader(fh, 4097))
		if err != nil {
			return nil, fmt.Errorf("audit key file: %w", err)
		}
		if len(b) > 4096 {
			return nil, fmt.Errorf("audit key file %s: over 4 KiB", f.AuditKeyFile)
		}
		k = []byte(strings.TrimSpace(string(b)))
	}
	if len(k) == 0 {
		return nil, nil
	}
	if len(k) < minAuditKey {
		return nil, fmt.Errorf("audit key: at least %d bytes, got %d", minAuditKey, len(k))
	}
	return k, nil
}

// auditKeyFromEnv is auditKeyFlag read from the environment, for the
// commands that write (apply, run).
func auditKeyFromEnv() auditKeyFlag {
	f := auditKeyFlag{AuditKey: os.Getenv("SYNCD_AUDIT_KEY"), AuditKeyFile: os.Getenv("SYNCD_AUDIT_KEY_FILE"),
		CheckpointDir: os.Getenv("SYNCD_CHECKPOINT_DIR")}
	if f.CheckpointDir == "" {
		f.CheckpointDir = ".syncd/checkpoints"
	}
	return f
}

// auditCheckpointCmd prints a signed head of the audit chain.
type auditCheckpointCmd struct {
	databaseFlag
	auditKeyFlag
	Save bool `name:"save" help:"Also append it to the checkpoint directory."`

	out io.Writer `kong:"-"`
}

func (c *auditCheckpointCmd) Run(ctx context.Context, g *Globals) error {
	key, err := c.key()
	if err != nil {
		return err
	}
	if key == nil {
		return errors.New("audit checkpoint: SYNCD_AUDIT_KEY (or SYNCD_AUDIT_KEY_FILE) is required: the head is signed with it")
	}
	store, err := c.openReader(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	head, err := store.Head(ctx)
	if err != nil {
		return err
	}
	cp := audit.SignCheckpoint(key, head)
	if c.Save {
		if err := audit.AppendCheckpoint(c.CheckpointDir, cp); err != nil {
			return err
		}
	}
	fmt.Fprintln(writerOr(c.out), cp.String())
	return nil
}
