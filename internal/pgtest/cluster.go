package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a throwaway PostgreSQL server a test owns.
type Cluster struct {
	dir   string // short, so that the unix socket path fits
	port  int
	cred  *syscall.Credential
	pgbin string
	// removeOnExit makes the server's own wrapper delete dir when the
	// server ends, so that a test process that dies without cleaning up
	// leaves nothing behind.
	removeOnExit bool

	mu   sync.Mutex
	proc *os.Process
	done chan struct{}
}

// StartCluster starts a private cluster for t and stops and removes it when
// the test ends. It calls t.Fatal when no cluster can be started.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := newCluster(false)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(c.remove)
	if err := c.start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return c
}

// URL is the server's postgres database, over TCP on 127.0.0.1. It stays
// valid across Stop and Start.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Port is the server's TCP port.
func (c *Cluster) Port() int { return c.port }

// Stop shuts the server down (fast: sessions are terminated) and waits.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked()
}

// Start starts the server again on the same port with the same data, and
// waits until it accepts connections. It panics when the server does not
// come up, since every caller is a test that cannot continue.
func (c *Cluster) Start() {
	if err := c.start(); err != nil {
		panic(fmt.Sprintf("pgtest: restart: %v", err))
	}
}

func newCluster(removeOnExit bool) (*Cluster, error) {
	pgbin := BinDir()
	if _, err := os.Stat(filepath.Join(pgbin, "initdb")); err != nil {
		return nil, fmt.Errorf("no PostgreSQL server binaries in %s (install the postgresql package, set %s to its bin directory, or set SYNCD_TEST_DATABASE_URL): %w", pgbin, EnvBin, err)
	}
	c := &Cluster{pgbin: pgbin, removeOnExit: removeOnExit}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("/tmp", "pg")
	if err != nil {
		return nil, err
	}
	c.dir = dir
	if err := os.Chmod(dir, 0o755); err != nil {
		c.remove()
		return nil, err
	}
	if c.cred != nil {
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			c.remove()
			return nil, err
		}
	}
	initdb := exec.Command(filepath.Join(pgbin, "initdb"), "-D", filepath.Join(dir, "data"),
		"-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		c.remove()
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		c.remove()
		return nil, err
	}
	c.port = port
	return c, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start launches the server and waits until it accepts connections.
func (c *Cluster) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		return nil
	}
	args := []string{
		"-D", filepath.Join(c.dir, "data"), "-p", strconv.Itoa(c.port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200",
	}
	postgres := filepath.Join(c.pgbin, "postgres")
	var cmd *exec.Cmd
	if c.removeOnExit {
		// The shell outlives a killed test process just long enough to stop
		// the server cleanly and delete the cluster.
		script := `trap 'kill -INT $p 2>/dev/null' TERM INT HUP
"$@" & p=$!
wait $p; wait $p
rm -rf "` + c.dir + `"`
		cmd = exec.Command("/bin/sh", append([]string{"-c", script, "sh", postgres}, args...)...)
	} else {
		cmd = exec.Command(postgres, args...)
	}
	logf, err := os.OpenFile(filepath.Join(c.dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = c.dir
	// Pdeathsig ends the server when the test process dies; it is tied to
	// the thread that forked, so that thread stays locked until the server
	// has exited.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGTERM}
	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.proc, c.done = cmd.Process, done
	if err := c.waitReady(done); err != nil {
		c.stopLocked()
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("%w; server log:\n%s", err, log)
	}
	return nil
}

func (c *Cluster) waitReady(done <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.URL())
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return errors.New("postgres exited during start-up")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after 30s: %w", err)
		}
	}
}

func (c *Cluster) stopLocked() {
	if c.proc == nil {
		return
	}
	sig := syscall.SIGINT // fast shutdown
	if c.removeOnExit {
		sig = syscall.SIGTERM // the wrapper turns it into SIGINT
	}
	_ = c.proc.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.proc.Kill()
		<-c.done
	}
	c.proc, c.done = nil, nil
}

// remove stops the server and deletes the cluster.
func (c *Cluster) remove() {
	c.Stop()
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}
