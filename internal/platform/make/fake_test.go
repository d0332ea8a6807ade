package make

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const fakeToken = "tok-abcdef-123456"

// fakeConn is one stored connection of the hand-written fake.
type fakeConn struct {
	app, name, label, typ string
	csn                   *string
	sections              map[string]*string // raw text; nil pointer = legacy null
	common                string
}

// fakeMake is a small Make stand-in with switches for the quirks the
// vendor documents: the list key, the version field's spelling, legacy null
// sections, locked common data, a recreate answer of {}.
type fakeMake struct {
	mu            sync.Mutex
	conns         map[string]*fakeConn
	order         []string
	listKey       string // "appConnections" (default) or "connections"
	versionN      bool   // appVersion as a number instead of app_version string
	locked        bool   // common data of approved app
	recreateEmpty bool
	// hook may answer a request itself (return true); it runs first.
	hook     func(w http.ResponseWriter, r *http.Request) bool
	requests []string // "METHOD path"
	lastBody map[string]string
	lastCT   map[string]string
}

func newFakeMake() *fakeMake {
	return &fakeMake{conns: map[string]*fakeConn{}, lastBody: map[string]string{}, lastCT: map[string]string{}}
}

func (f *fakeMake) add(app, label, typ string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addLocked(app, label, typ)
}

func (f *fakeMake) addLocked(app, label, typ string) string {
	name := app
	for n := 2; f.conns[name] != nil; n++ {
		name = app + strconv.Itoa(n)
	}
	f.conns[name] = &fakeConn{app: app, name: name, label: label, typ: typ, sections: map[string]*string{}, common: "{}"}
	f.order = append(f.order, name)
	return name
}

func (f *fakeMake) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func makeErr(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]any{"detail": detail, "message": http.StatusText(status), "code": "SC" + strconv.Itoa(status)})
}

func (f *fakeMake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/api/v2")
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+path)
	f.lastBody[r.Method+" "+path] = string(body)
	f.lastCT[r.Method+" "+path] = r.Header.Get("Content-Type")
	hook := f.hook
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Token "+fakeToken {
		makeErr(w, 401, "Invalid token")
		return
	}
	if hook != nil && hook(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(path, "/sdk/apps/"), "/")
	// /sdk/apps/{app}/connections
	if len(parts) == 2 && parts[1] == "connections" && parts[0] != "connections" {
		app := parts[0]
		switch r.Method {
		case "GET":
			var list []map[string]any
			for _, n := range f.order {
				c := f.conns[n]
				if c.app != app {
					continue
				}
				item := map[string]any{"name": c.name, "label": c.label, "type": c.typ}
				if f.versionN {
					item["appVersion"] = 1
				} else {
					item["app_version"] = "1"
				}
				list = append(list, item)
			}
			if list == nil {
				list = []map[string]any{}
			}
			key := f.listKey
			if key == "" {
				key = "appConnections"
			}
			writeJSON(w, 200, map[string]any{key: list})
		case "POST":
			var in struct{ Type, Label string }
			if json.Unmarshal(body, &in) != nil || in.Type == "bad" {
				makeErr(w, 400, "Invalid connection type")
				return
			}
			name := f.addLocked(app, in.Label, in.Type)
			writeJSON(w, 200, map[string]any{"appConnection": map[string]any{"name": name, "label": in.Label, "type": in.Type}})
		}
		return
	}
	if len(parts) < 2 || parts[0] != "connections" {
		http.NotFound(w, r)
		return
	}
	c := f.conns[parts[1]]
	if c == nil {
		makeErr(w, 404, "Connection not found")
		return
	}
	if len(parts) == 2 {
		switch r.Method {
		case "GET":
			writeJSON(w, 200, map[string]any{"appConnection": map[string]any{"name": c.name, "label": c.label, "type": c.typ, "connectedSystemName": c.csn, "appVersion": "1"}})
		case "PATCH":
			var in map[string]any
			json.Unmarshal(body, &in)
			if l, ok := in["label"].(string); ok {
				c.label = l
			}
			if v, ok := in["connectedSystemName"]; ok {
				if s, ok := v.(string); ok {
					c.csn = &s
				} else {
					c.csn = nil
				}
			}
			writeJSON(w, 200, map[string]any{"appConnection": map[string]any{"name": c.name, "label": c.label, "type": c.typ}})
		case "DELETE":
			delete(f.conns, c.name)
			for i, n := range f.order {
				if n == c.name {
					f.order = append(f.order[:i], f.order[i+1:]...)
					break
				}
			}
			writeJSON(w, 200, map[string]any{"appConnection": c.name})
		}
		return
	}
	switch sec := parts[2]; {
	case sec == "recreate" && r.Method == "POST":
		if f.recreateEmpty {
			writeJSON(w, 200, map[string]any{})
		} else {
			writeJSON(w, 200, map[string]any{"appConnection": c.name})
		}
	case sec == "common" && r.Method == "GET":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, c.common)
	case sec == "common" && r.Method == "PUT":
		if f.locked {
			makeErr(w, 403, "Common data are locked because the app is approved.")
			return
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			makeErr(w, 400, "Common data must be a collection")
			return
		}
		c.common = string(body)
		writeJSON(w, 200, map[string]any{"changed": true})
	case r.Method == "GET":
		raw, ok := c.sections[sec]
		w.Header().Set("Content-Type", "application/jsonc")
		if !ok || raw == nil {
			io.WriteString(w, "null")
			return
		}
		io.WriteString(w, *raw)
	case r.Method == "PUT":
		if _, err := ParseJSONC(body); err != nil {
			makeErr(w, 400, "Unexpected token in JSONC at position 3")
			return
		}
		s := string(body)
		c.sections[sec] = &s
		writeJSON(w, 200, map[string]any{"change": map[string]any{}})
	}
}

func newTestClient(t *testing.T, srvURL string) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: srvURL + "/api/v2", Token: fakeToken, RequestsPerMinute: 600000, Burst: 1000,
		Timeout: 2 * time.Second, Retry: testRetry})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func startFake(t *testing.T) (*fakeMake, *Client) {
	t.Helper()
	f := newFakeMake()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, newTestClient(t, srv.URL)
}

func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// set changes the fake's switches under its lock.
func (f *fakeMake) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeMake) body(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastBody[key]
}

func (f *fakeMake) ct(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastCT[key]
}

func (f *fakeMake) size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

func (f *fakeMake) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}
