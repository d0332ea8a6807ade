package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer lets the test read what the command prints while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestEmulatorCommand(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "addr")
	seed := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(seed, []byte(`{"make":{"apps":{"crm":{"connections":[{"label":"L","type":"basic"}]}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	cmd := &emulatorCmd{Listen: "127.0.0.1:0", ReadyFile: ready, Seed: seed, MakeToken: "mt", PatchworksToken: "pk", RateLimit: 6000, out: out}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.Run(ctx, &Globals{}) }()

	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; {
		select {
		case err := <-done:
			t.Fatalf("emulator stopped early: %v", err)
		default:
		}
		if b, err := os.ReadFile(ready); err == nil && strings.HasSuffix(string(b), "\n") {
			addr = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("emulator never wrote its ready file")
		}
		time.Sleep(5 * time.Millisecond)
	}
	want := fmt.Sprintf("make: http://%s/api/v2\npatchworks: http://%s\n", addr, addr)
	if got := out.String(); got != want {
		t.Errorf("printed %q, want %q", got, want)
	}

	get := func(path, auth string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	tests := []struct {
		name, path, auth string
		want             int
		wantBody         string
	}{
		{"seeded make list", "/api/v2/sdk/apps/crm/connections", "Token mt", 200, `{"appConnections":[{"app_version":"1","label":"L","name":"crm","type":"basic"}]}`},
		{"make token from the flag", "/api/v2/sdk/apps/crm/connections", "Token make-token", 401, ""},
		{"patchworks key", "/api/v1/connectors", "pk", 200, ""},
		{"control", "/_emulator/healthz", "", 200, `{"ok":true}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(tc.path, tc.auth)
			if status != tc.want || (tc.wantBody != "" && body != tc.wantBody) {
				t.Errorf("got %d %s, want %d %s", status, body, tc.want, tc.wantBody)
			}
		})
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil (exit 0)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not stop after its context was cancelled")
	}
}

func TestEmulatorCommandBadSeed(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(seed, []byte(`{"make":{"apps":{"crm":{"connections":[{"label":"L","type":"nope"}]}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := &emulatorCmd{Listen: "127.0.0.1:0", Seed: seed, out: io.Discard}
	err := cmd.Run(context.Background(), &Globals{})
	if err == nil || !strings.Contains(err.Error(), `invalid connection type "nope"`) {
		t.Errorf("Run = %v, want the seed's error", err)
	}
}
