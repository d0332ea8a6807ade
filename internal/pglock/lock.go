package pglock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Key is the advisory lock all replicas of one database contend for, and
// that an apply takes (an arbitrary constant: "syncd" in ASCII).
const Key int64 = 0x73796e6364

// ErrLocked means another syncd holds the apply lock.
var ErrLocked = errors.New("another syncd is applying to this database (a daemon in apply mode, or another apply); retry later or raise --lock-timeout")

// AcquireApplyLock takes the advisory lock the daemon's leader holds (Key), so
// that a `syncd apply` never writes at the same time as a daemon in apply
// mode or another apply (Terraform's state lock). It waits up to wait,
// trying every second. release gives the lock back.
func AcquireApplyLock(ctx context.Context, dsn string, wait time.Duration) (release func(), err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("apply lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		var got bool
		if err := conn.QueryRow(ctx, "select pg_try_advisory_lock($1)", Key).Scan(&got); err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("apply lock: %w", err)
		}
		if got {
			return func() {
				cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				conn.Close(cctx) // ending the session releases the lock
			}, nil
		}
		if !time.Now().Before(deadline) {
			conn.Close(context.WithoutCancel(ctx))
			return nil, ErrLocked
		}
		select {
		case <-ctx.Done():
			conn.Close(context.WithoutCancel(ctx))
			return nil, ctx.Err()
		case <-time.After(min(time.Second, time.Until(deadline)+time.Millisecond)):
		}
	}
}
