package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// makeTypes are the connection types Make accepts (API-NOTES, confirmed).
var makeTypes = []string{"oauth", "oauth-refresh", "oauth-resowncre", "oauth-clicre", "oauth-1", "apikey", "basic", "other"}

// makeSectionDefaults is what GET returns for a section never written.
var makeSectionDefaults = map[string]string{
	"api":         "{}",
	"parameters":  "[]",
	"scopes":      "{}",
	"scope":       "[]",
	"install":     "{}",
	"installSpec": "[]",
}

// makeAppVersion is the version every emulated app reports.
const makeAppVersion = "1"

// maxBody bounds request bodies; Make sections are small documents.
const maxBody = 8 << 20

type makeState struct {
	apps    map[string]*makeApp
	conns   map[string]*makeConn // live connections by name
	issued  map[string]bool      // every name ever handed out: never reused
	changes int64                // ids of section changes
}

type makeApp struct {
	approved bool
	absent   bool
	next     int         // how many names this app has handed out
	order    []*makeConn // creation order, incl. deleted ones still lagging
}

// exists says whether the app is one the server knows: seeded, declared
// (AddMakeApps, the control API) and not marked absent. Make answers 404
// to listing or creating connections of any other app (API-NOTES: the
// SDK's tests create the app before any connection).
func (a *makeApp) exists() bool { return a != nil && !a.absent }

type makeConn struct {
	name, app, label, typ string
	connectedSystemName   *string
	sections              map[string]string // raw JSONC text as written
	common                map[string]any
	deleted               bool
	lag                   int // list requests that will still show it
}

func newMakeState() *makeState {
	return &makeState{apps: map[string]*makeApp{}, conns: map[string]*makeConn{}, issued: map[string]bool{}}
}

func (m *makeState) app(name string) *makeApp {
	a := m.apps[name]
	if a == nil {
		a = &makeApp{}
		m.apps[name] = a
	}
	return a
}

// newName follows Make's editor: the first connection of app X is X, then
// X2, X3…; a name that was ever used (by any app) is skipped.
func (m *makeState) newName(app string, a *makeApp) string {
	for {
		a.next++
		n := app
		if a.next > 1 {
			n = app + strconv.Itoa(a.next)
		}
		if !m.issued[n] {
			m.issued[n] = true
			return n
		}
	}
}

func (m *makeState) create(app, label, typ string) *makeConn {
	a := m.app(app)
	c := &makeConn{name: m.newName(app, a), app: app, label: label, typ: typ, sections: map[string]string{}, common: map[string]any{}}
	a.order = append(a.order, c)
	m.conns[c.name] = c
	return c
}

func (m *makeState) remove(c *makeConn, lag int) {
	delete(m.conns, c.name)
	c.deleted, c.lag = true, lag
	if lag == 0 {
		m.prune(c.app)
	}
}

// prune forgets deleted connections whose lag is over.
func (m *makeState) prune(app string) {
	a := m.apps[app]
	if a == nil {
		return
	}
	a.order = slices.DeleteFunc(a.order, func(c *makeConn) bool { return c.deleted && c.lag <= 0 })
}

// MakeConnection is a Make connection as the emulator holds it.
type MakeConnection struct {
	Name                string  `json:"name"`
	App                 string  `json:"app"`
	Label               string  `json:"label"`
	Type                string  `json:"type"`
	ConnectedSystemName *string `json:"connectedSystemName"`
	// Sections holds the raw text of the sections that were written.
	Sections map[string]string `json:"sections"`
	Common   map[string]any    `json:"common"`
}

func (c *makeConn) export() MakeConnection {
	out := MakeConnection{Name: c.name, App: c.app, Label: c.label, Type: c.typ, Sections: map[string]string{}, Common: deepCopy(c.common).(map[string]any)}
	if c.connectedSystemName != nil {
		v := *c.connectedSystemName
		out.ConnectedSystemName = &v
	}
	for k, v := range c.sections {
		out.Sections[k] = v
	}
	return out
}

// MakeConnections lists the live connections of app in creation order
// (deleted ones are never included, whatever the delete lag).
func (s *Server) MakeConnections(app string) []MakeConnection {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []MakeConnection{}
	if a := s.mk.apps[app]; a != nil {
		for _, c := range a.order {
			if !c.deleted {
				out = append(out, c.export())
			}
		}
	}
	return out
}

// MakeConnection returns one live connection by name.
func (s *Server) MakeConnection(name string) (MakeConnection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mk.conns[name]
	if c == nil {
		return MakeConnection{}, false
	}
	return c.export(), true
}

// MakeConnectionCount counts live connections over all apps.
func (s *Server) MakeConnectionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mk.conns)
}

// AddMakeApps declares apps, as creating them in Make would; an app that
// was marked absent exists again.
func (s *Server) AddMakeApps(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		s.mk.app(n).absent = false
	}
}

// SetApproved marks an app approved (its common data locked) or not, and
// declares it.
func (s *Server) SetApproved(app string, approved bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mk.app(app).approved = approved
}

// MakeEdit is a change made by a person in Make's web console. Nil fields
// are left alone.
type MakeEdit struct {
	Label *string
	// Type may be changed here although the API cannot change it.
	Type *string
	// ConnectedSystemName is set when non-nil; ClearConnectedSystemName
	// sets it to null.
	ConnectedSystemName      *string
	ClearConnectedSystemName bool
	// Sections maps a section to its new raw JSONC text.
	Sections map[string]string
	// Common replaces the common data when non-nil.
	Common map[string]any
}

// EditMakeConnection applies an out-of-band edit, as the web console would
// (no approval lock, no rate limit, no request counted).
func (s *Server) EditMakeConnection(name string, e MakeEdit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mk.conns[name]
	if c == nil {
		return fmt.Errorf("make connection %q not found", name)
	}
	if e.Type != nil && !slices.Contains(makeTypes, *e.Type) {
		return fmt.Errorf("invalid connection type %q", *e.Type)
	}
	for sec, text := range e.Sections {
		if err := checkSection(sec, text); err != nil {
			return err
		}
	}
	if e.Label != nil {
		c.label = *e.Label
	}
	if e.Type != nil {
		c.typ = *e.Type
	}
	if e.ConnectedSystemName != nil {
		v := *e.ConnectedSystemName
		c.connectedSystemName = &v
	}
	if e.ClearConnectedSystemName {
		c.connectedSystemName = nil
	}
	for sec, text := range e.Sections {
		c.sections[sec] = text
	}
	if e.Common != nil {
		c.common = deepCopy(e.Common).(map[string]any)
	}
	return nil
}

// DeleteMakeConnection deletes a connection out of band, at once (no lag).
func (s *Server) DeleteMakeConnection(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mk.conns[name]
	if c == nil {
		return fmt.Errorf("make connection %q not found", name)
	}
	s.mk.remove(c, 0)
	return nil
}

// checkSection validates seeded or edited section text; "null" is allowed
// so a legacy empty section can be imitated.
func checkSection(sec, text string) error {
	if _, ok := makeSectionDefaults[sec]; !ok {
		return fmt.Errorf("unknown section %q", sec)
	}
	if _, err := parseJSONC([]byte(text)); err != nil {
		return fmt.Errorf("section %s: %w", sec, err)
	}
	return nil
}

// makeError writes Make's error shape.
func makeError(w http.ResponseWriter, status int, message, detail string) {
	writeJSON(w, status, map[string]any{"detail": detail, "message": message, "code": "SC" + strconv.Itoa(status)})
}

func makeNotFound(w http.ResponseWriter, what string) {
	makeError(w, http.StatusNotFound, "Not Found", what+" not found.")
}

func makeMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	makeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "Method "+r.Method+" is not allowed on "+r.URL.Path+".")
}

func (s *Server) serveMake(w http.ResponseWriter, r *http.Request, info *reqInfo) {
	if r.Header.Get("Authorization") != "Token "+s.makeToken {
		makeError(w, http.StatusUnauthorized, "Unauthorized", "Invalid or missing API token. Send the header Authorization: Token <your-api-token>.")
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v2/"), "/")
	if len(segs) == 2 && segs[0] == "sdk" && segs[1] == "apps" {
		info.route = "/sdk/apps"
		if r.Method != http.MethodGet {
			makeMethodNotAllowed(w, r)
			return
		}
		s.makeListApps(w)
		return
	}
	if len(segs) < 4 || segs[0] != "sdk" || segs[1] != "apps" || slices.Contains(segs, "") {
		makeNotFound(w, "Route "+r.URL.Path)
		return
	}
	rest := segs[2:]
	switch {
	// A connection path wins over an app called "connections".
	case len(rest) == 2 && rest[0] == "connections":
		info.route = "/sdk/apps/connections/{name}"
		switch r.Method {
		case http.MethodGet:
			s.makeGet(w, rest[1])
		case http.MethodPatch:
			s.makePatch(w, r, rest[1])
		case http.MethodDelete:
			s.makeDelete(w, rest[1])
		default:
			makeMethodNotAllowed(w, r)
		}
	case len(rest) == 2 && rest[1] == "connections":
		info.route = "/sdk/apps/{app}/connections"
		switch r.Method {
		case http.MethodGet:
			s.makeList(w, rest[0])
		case http.MethodPost:
			s.makeCreate(w, r, rest[0])
		default:
			makeMethodNotAllowed(w, r)
		}
	case len(rest) == 3 && rest[0] == "connections" && rest[2] == "recreate":
		info.route = "/sdk/apps/connections/{name}/recreate"
		if r.Method != http.MethodPost {
			makeMethodNotAllowed(w, r)
			return
		}
		s.makeRecreate(w, rest[1])
	case len(rest) == 3 && rest[0] == "connections" && rest[2] == "common":
		info.route = "/sdk/apps/connections/{name}/common"
		switch r.Method {
		case http.MethodGet:
			s.makeGetCommon(w, rest[1])
		case http.MethodPut:
			s.makePutCommon(w, r, rest[1])
		default:
			makeMethodNotAllowed(w, r)
		}
	case len(rest) == 3 && rest[0] == "connections":
		if _, ok := makeSectionDefaults[rest[2]]; !ok {
			makeNotFound(w, "Section "+rest[2])
			return
		}
		info.route = "/sdk/apps/connections/{name}/{section}"
		switch r.Method {
		case http.MethodGet:
			s.makeGetSection(w, rest[1], rest[2])
		case http.MethodPut:
			s.makePutSection(w, r, rest[1], rest[2])
		default:
			makeMethodNotAllowed(w, r)
		}
	default:
		makeNotFound(w, "Route "+r.URL.Path)
	}
}

// makeListApps lists the organisation's SDK apps (GET /sdk/apps): every app
// the emulator knows that is not marked absent, by name.
func (s *Server) makeListApps(w http.ResponseWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.mk.apps))
	for name, a := range s.mk.apps {
		if a.exists() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	apps := make([]any, len(names))
	for i, name := range names {
		apps[i] = map[string]any{"name": name, "label": name, "version": 1}
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": apps})
}

func (s *Server) makeList(w http.ResponseWriter, app string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.mk.apps[app]
	if !a.exists() {
		makeNotFound(w, "App "+app)
		return
	}
	items := []any{}
	for _, c := range a.order {
		items = append(items, map[string]any{"name": c.name, "label": c.label, "type": c.typ, "app_version": makeAppVersion})
		if c.deleted {
			c.lag--
		}
	}
	s.mk.prune(app)
	writeJSON(w, http.StatusOK, map[string]any{"appConnections": items})
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
}

// readObject reads a JSON object body for the Make API, answering 400
// itself when the body is not one.
func readMakeObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	body, err := readBody(w, r)
	if err != nil {
		makeError(w, http.StatusBadRequest, "Bad Request", "Could not read the request body.")
		return nil, false
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		makeError(w, http.StatusBadRequest, "Bad Request", "The request body must be a JSON object.")
		return nil, false
	}
	return obj, true
}

func (s *Server) makeCreate(w http.ResponseWriter, r *http.Request, app string) {
	body, ok := readMakeObject(w, r)
	if !ok {
		return
	}
	typ, _ := body["type"].(string)
	if !slices.Contains(makeTypes, typ) {
		makeError(w, http.StatusBadRequest, "Invalid connection type", fmt.Sprintf("Invalid connection type %q; valid types are %s.", fmt.Sprint(body["type"]), strings.Join(makeTypes, ", ")))
		return
	}
	// The label is optional (API reference); without one the connection
	// is labelled with its name (ASSUMED: the default is not documented).
	label, hasLabel := "", false
	if v, present := body["label"]; present && v != nil {
		l, isString := v.(string)
		if !isString || l == "" {
			makeError(w, http.StatusBadRequest, "Bad Request", "Label must be a non-empty string.")
			return
		}
		label, hasLabel = l, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.mk.apps[app].exists() {
		makeNotFound(w, "App "+app)
		return
	}
	c := s.mk.create(app, label, typ)
	if !hasLabel {
		c.label = c.name
	}
	c.applyTemplates()
	writeJSON(w, http.StatusOK, map[string]any{"appConnection": c.summary()})
}

// summary is the connection as create and update answer it (seeds/001).
func (c *makeConn) summary() map[string]any {
	return map[string]any{"name": c.name, "label": c.label, "type": c.typ}
}

func (s *Server) makeGet(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mk.conns[name]
	if c == nil {
		makeNotFound(w, "Connection "+name)
		return
	}
	out := map[string]any{"name": c.name, "label": c.label, "type": c.typ, "connectedSystemName": nil, "appVersion": makeAppVersion}
	if c.connectedSystemName != nil {
		out["connectedSystemName"] = *c.connectedSystemName
	}
	if strings.HasPrefix(c.typ, "oauth") {
		out["redirectUri"] = "https://www.make.com/oauth/cb/app"
	}
	writeJSON(w, http.StatusOK, map[string]any{"appConnection": out})
}

func (s *Server) makePatch(w http.ResponseWriter, r *http.Request, name string) {
	body, ok := readMakeObject(w, r)
	if !ok {
		return
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "label":
			if l, ok := body[k].(string); !ok || l == "" {
				makeError(w, http.StatusBadRequest, "Bad Request", "Label must be a non-empty string.")
				return
			}
		case "connectedSystemName":
			if _, ok := body[k].(string); !ok && body[k] != nil {
				makeError(w, http.StatusBadRequest, "Bad Request", "connectedSystemName must be a string or null.")
				return
			}
		default:
			makeError(w, http.StatusBadRequest, "Bad Request", fmt.Sprintf("Field %q cannot be updated; only label and connectedSystemName can.", k))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mk.conns[name]
	if c == nil {
		makeNotFound(w, "Connection "+name)
		return
	}
	if l, ok := body["label"].(string); ok && !s.knobs.ignores("make/label") {
		c.label = l
	}
	if v, ok := body["connectedSystemName"]; ok && !s.knobs.ignores("make/connectedSystemName") {
		if str, isString := v.(string); isString {
			c.connectedSystemName = &str
		} else {
			c.connectedSystemName = nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"appConnection": c.summary()})
}

func (s *Server) makeDelete(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mk.conns[name]
	if c == nil {
		makeNotFound(w, "Connection "+name)
		return
	}
	s.mk.remove(c, s.knobs.deleteLag())
	writeJSON(w, http.StatusOK, map[string]any{"appConnection": name})
}

func (s *Server) makeRecreate(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mk.conns[name] == nil {
		makeNotFound(w, "Connection "+name)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"appConnection": name})
}

func (s *Server) makeGetSection(w http.ResponseWriter, name, sec string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mk.conns[name]
	if c == nil {
		makeNotFound(w, "Connection "+name)
		return
	}
	text, ok := c.sections[sec]
	if !ok {
		text = makeSectionDefaults[sec]
	}
	w.Header().Set("Content-Type", "application/jsonc")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, text)
}

// acceptedBodyType says whether a section or common PUT may carry this
// Content-Type; a missing one is tolerated like most servers do.
func acceptedBodyType(r *http.Request, types ...string) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && slices.Contains(types, mt)
}

func (s *Server) makePutSection(w http.ResponseWriter, r *http.Request, name, sec string) {
	if !acceptedBodyType(r, "application/jsonc", "application/json") {
		makeError(w, http.StatusUnsupportedMediaType, "Unsupported Media Type", "Send sections as application/jsonc or application/json.")
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		makeError(w, http.StatusBadRequest, "Bad Request", "Could not read the request body.")
		return
	}
	val, err := parseJSONC(body)
	if err != nil {
		makeError(w, http.StatusBadRequest, "Invalid JSONC", err.Error())
		return
	}
	switch val.(type) {
	case map[string]any, []any:
	default:
		makeError(w, http.StatusBadRequest, "Bad Request", "Section "+sec+" must be a JSON object or array.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mk.conns[name]
	if c == nil {
		makeNotFound(w, "Connection "+name)
		return
	}
	old, ok := c.sections[sec]
	if !ok {
		old = makeSectionDefaults[sec]
	}
	oldVal, _ := parseJSONC([]byte(old))
	if reflect.DeepEqual(oldVal, val) {
		// The text is stored even when the value is unchanged, so edited
		// comments are kept; only the answer says whether anything changed.
		if !s.knobs.ignores("make/sections/" + sec) {
			c.sections[sec] = string(body)
		}
		writeJSON(w, http.StatusOK, map[string]any{"change": map[string]any{}})
		return
	}
	if !s.knobs.ignores("make/sections/" + sec) {
		c.sections[sec] = string(body)
	}
	s.mk.changes++
	writeJSON(w, http.StatusOK, map[string]any{"change": map[string]any{"id": s.mk.changes, "group": "connection", "item": name, "code": sec}})
}

func (s *Server) makeGetCommon(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mk.conns[name]
	if c == nil {
		makeNotFound(w, "Connection "+name)
		return
	}
	writeJSON(w, http.StatusOK, c.common)
}

func (s *Server) makePutCommon(w http.ResponseWriter, r *http.Request, name string) {
	if !acceptedBodyType(r, "application/json") {
		makeError(w, http.StatusUnsupportedMediaType, "Unsupported Media Type", "Send common data as application/json.")
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		makeError(w, http.StatusBadRequest, "Bad Request", "Could not read the request body.")
		return
	}
	var val any
	if err := json.Unmarshal(body, &val); err != nil {
		var syn *json.SyntaxError
		detail := "The request body is not valid JSON."
		if errors.As(err, &syn) {
			detail = fmt.Sprintf("The request body is not valid JSON (at position %d).", syn.Offset)
		}
		makeError(w, http.StatusBadRequest, "Bad Request", detail)
		return
	}
	obj, isObject := val.(map[string]any)
	if !isObject {
		makeError(w, http.StatusBadRequest, "Common data must be a collection", "Common data must be a collection.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mk.conns[name]
	if c == nil {
		makeNotFound(w, "Connection "+name)
		return
	}
	if s.mk.app(c.app).approved {
		makeError(w, http.StatusForbidden, "Common data is locked", "Common data is locked because the app "+c.app+" is approved.")
		return
	}
	changed := !reflect.DeepEqual(c.common, obj)
	if !s.knobs.ignores("make/common") {
		c.common = obj
	}
	writeJSON(w, http.StatusOK, map[string]any{"changed": changed})
}

// deepCopy copies a value made of maps, slices and scalars, so callers of
// the Go accessors can never alias the server's state.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}
