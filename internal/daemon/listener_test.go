package daemon_test

import (
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

func TestListenBeyondLoopbackNeedsToken(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	_, err := daemon.New(daemon.Options{ManifestsDir: env.Dir, Mode: syncd.ModeReport, Listen: "0.0.0.0:0", Runner: env.Runner, Store: env.Store})
	if err == nil || !strings.Contains(err.Error(), "SYNCD_HTTP_TOKEN") {
		t.Fatalf("daemon.New on 0.0.0.0 without a token: %v", err)
	}
	if _, err := daemon.New(daemon.Options{ManifestsDir: env.Dir, Mode: syncd.ModeReport, Listen: "0.0.0.0:0", HTTPToken: "t0ken", Runner: env.Runner, Store: env.Store}); err != nil {
		t.Fatalf("daemon.New with a token: %v", err)
	}
}

func TestTokenGuardsAllButProbes(t *testing.T) {
	const token = "http-token-never-print"
	env := testenv.New(t, testenv.Options{})
	d := startDaemon(t, env, daemon.Options{HTTPToken: token})
	d.waitReady(t)
	get := func(path, auth string) int {
		req, _ := http.NewRequest("GET", "http://"+d.addr+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		path, auth string
		want       int
	}{
		{"/healthz", "", 200},
		{"/readyz", "", 200},
		{"/metrics", "", 401},
		{"/v1/status", "", 401},
		{"/v1/status", "Bearer wrong", 401},
		{"/v1/status", token, 401},
		{"/v1/status", "Bearer " + token, 200},
		{"/metrics", "Bearer " + token, 200},
		// The web console in a browser: HTTP Basic, the token as password.
		{"/", "Basic " + base64.StdEncoding.EncodeToString([]byte("anyone:"+token)), 200},
		{"/v1/status", "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+token)), 200},
		{"/", "Basic " + base64.StdEncoding.EncodeToString([]byte("anyone:wrong")), 401},
		{"/", "Basic " + base64.StdEncoding.EncodeToString([]byte(token+":")), 401},
		{"/", "", 401},
	}
	for _, tt := range tests {
		if got := get(tt.path, tt.auth); got != tt.want {
			t.Errorf("GET %s (Authorization %q): %d, want %d", tt.path, tt.auth, got, tt.want)
		}
	}
	resp, err := http.Get("http://" + d.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := strings.Join(resp.Header.Values("WWW-Authenticate"), "; "); !strings.Contains(got, "Basic realm=") {
		t.Errorf("a 401 offers %q: a browser would not ask for the token", got)
	}
	noSecrets(t, "log", d.logs.String(), token)
}

// Idle connections that never send a request are capped and cut off by
// the read-header timeout: /healthz answers again although many more
// clients than the cap hold connections open.
func TestIdleConnectionsDoNotStarveTheListener(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	d := startDaemon(t, env, daemon.Options{MaxConns: 4})
	d.waitReady(t)
	var idle []net.Conn
	for range 40 {
		c, err := net.Dial("tcp", d.addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	// The server closes the accepted idle ones itself (read-header timeout).
	closed := make(chan struct{})
	go func() {
		buf := make([]byte, 1)
		idle[0].SetReadDeadline(time.Now().Add(waitTimeout))
		idle[0].Read(buf)
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(waitTimeout):
		t.Fatal("an idle connection was never closed by the server")
	}
	client := &http.Client{Timeout: waitTimeout}
	waitFor(t, "/healthz to answer while idle clients hold connections", func() bool {
		resp, err := client.Get("http://" + d.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}
