package daemon

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// HTTP server limits. An idle or slow client is cut off by the timeouts;
// the connection cap keeps enough file descriptors free for a scan.
const (
	httpReadHeaderTimeout = 5 * time.Second
	httpReadTimeout       = 10 * time.Second
	httpWriteTimeout      = 30 * time.Second
	httpIdleTimeout       = 60 * time.Second
	httpMaxHeaderBytes    = 16 << 10

	// DefaultMaxConns caps concurrent HTTP connections.
	DefaultMaxConns = 64
	// FDReserve is how many file descriptors the listener leaves for the
	// scan (manifest files, PostgreSQL, platform connections, the
	// watcher) whatever the connection cap says.
	FDReserve = 256
)

// maxConns is the connection cap for a process allowed nofile
// descriptors: want, but never so many that fewer than FDReserve remain.
func maxConns(want int, nofile uint64) int {
	if want <= 0 {
		want = DefaultMaxConns
	}
	if nofile > 0 {
		room := int64(nofile) - FDReserve
		if room < 1 {
			room = 1
		}
		if int64(want) > room {
			want = int(room)
		}
	}
	return want
}

func nofileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}

// limitListener serves at most cap connections at a time. A connection
// beyond the cap is closed as soon as it is accepted: left in the kernel's
// backlog, thousands of idle clients would queue ahead of the next health
// probe for minutes; closed, they cost one descriptor for a moment, and a
// probe gets the next free slot (held ones end within the timeouts).
type limitListener struct {
	net.Listener
	sem  chan struct{}
	done chan struct{}
	once sync.Once
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
		case <-l.done:
			c.Close()
			return nil, net.ErrClosed
		default:
			c.Close()
		}
	}
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// isLoopback reports whether a listen address only accepts local clients.
// An empty host (all interfaces) is not loopback.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// checkListen refuses to serve beyond loopback without a token.
func checkListen(addr, token string) error {
	if token == "" && !isLoopback(addr) {
		return fmt.Errorf("listen %s: an address beyond loopback needs SYNCD_HTTP_TOKEN (a bearer token for everything but /healthz and /readyz)", addr)
	}
	return nil
}

// requireToken guards every path but the probes with a bearer token; an
// empty token lets everything through (loopback only, see checkListen).
// A browser cannot send a bearer header for the web console, so HTTP Basic
// with the token as the password (any user name) is accepted too, and the
// 401 offers a Basic challenge so that the browser asks for it.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	wantPassword := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		ok := subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) == 1
		if _, password, basic := r.BasicAuth(); !ok && basic {
			ok = subtle.ConstantTimeCompare([]byte(password), wantPassword) == 1
		}
		if !ok {
			w.Header().Add("WWW-Authenticate", `Bearer realm="syncd"`)
			w.Header().Add("WWW-Authenticate", `Basic realm="syncd", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// newHTTPServer is the daemon's HTTP server with every timeout set.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
	}
}

// resourceText reports whether a loader message names such a failure; the
// loader keeps only the text of the system error.
func resourceText(msg string) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM} {
		if strings.HasSuffix(msg, e.Error()) {
			return true
		}
	}
	return false
}
