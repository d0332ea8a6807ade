package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Seed is the --seed file and the body of POST /_emulator/seed. Names and
// ids are assigned as creation does; see the package documentation.
type Seed struct {
	Make       SeedMake       `json:"make"`
	Patchworks SeedPatchworks `json:"patchworks"`
}

// SeedMake preloads Make apps, keyed by app name.
type SeedMake struct {
	Apps map[string]SeedApp `json:"apps"`
}

// SeedApp is one Make app. Approved locks its common data; Absent makes
// its list and create answer 404, as for an app that does not exist.
type SeedApp struct {
	Approved    bool             `json:"approved"`
	Absent      bool             `json:"absent"`
	Connections []SeedConnection `json:"connections"`
}

// SeedConnection is one Make connection. A section is either a JSON string
// holding the raw JSONC text, or any other JSON value, stored as written
// in the seed (null imitates a legacy empty section).
type SeedConnection struct {
	Label               string                     `json:"label"`
	Type                string                     `json:"type"`
	ConnectedSystemName *string                    `json:"connectedSystemName"`
	Sections            map[string]json.RawMessage `json:"sections"`
	Common              map[string]any             `json:"common"`
}

// SeedPatchworks preloads connectors: each is a create body (validated as
// POST /api/v1/connectors validates it) plus the emulator-only keys
// "test_error" (string) and "in_use" (bool).
type SeedPatchworks struct {
	Connectors []map[string]any `json:"connectors"`
}

// SeedResult names what a seed created, in seed order.
type SeedResult struct {
	Make       map[string][]string `json:"make"`
	Patchworks []int64             `json:"patchworks"`
}

// ParseSeed decodes a seed document; integers stay exact.
func ParseSeed(data []byte) (Seed, error) {
	var sd Seed
	if err := decodeJSON(data, &sd); err != nil {
		return Seed{}, fmt.Errorf("seed: %w", err)
	}
	return sd, nil
}

// SeedFile loads a seed file into the server.
func (s *Server) SeedFile(path string) (SeedResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return SeedResult{}, err
	}
	sd, err := ParseSeed(data)
	if err != nil {
		return SeedResult{}, fmt.Errorf("%s: %w", path, err)
	}
	res, err := s.Seed(sd)
	if err != nil {
		return SeedResult{}, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

// sectionText turns a seeded section into stored text.
func sectionText(raw json.RawMessage) (string, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '"' {
		var text string
		if err := json.Unmarshal(trimmed, &text); err != nil {
			return "", err
		}
		return text, nil
	}
	return string(trimmed), nil
}

type seededConnector struct {
	attrs     map[string]any
	vars      []varInput
	testError string
	inUse     bool
}

// Seed adds the seed's objects. It checks everything first and adds
// nothing when any part is invalid.
func (s *Server) Seed(sd Seed) (SeedResult, error) {
	apps := make([]string, 0, len(sd.Make.Apps))
	for app := range sd.Make.Apps {
		apps = append(apps, app)
	}
	sort.Strings(apps) // names must not depend on map order
	sections := map[string][]map[string]string{}
	for _, app := range apps {
		if app == "" || strings.Contains(app, "/") {
			return SeedResult{}, fmt.Errorf("seed: make app name %q is not a path segment", app)
		}
		for i, sc := range sd.Make.Apps[app].Connections {
			where := fmt.Sprintf("seed: make.apps.%s.connections[%d]", app, i)
			if !slices.Contains(makeTypes, sc.Type) {
				return SeedResult{}, fmt.Errorf("%s: invalid connection type %q", where, sc.Type)
			}
			if sc.Label == "" {
				return SeedResult{}, fmt.Errorf("%s: label is required", where)
			}
			texts := map[string]string{}
			for sec, raw := range sc.Sections {
				text, err := sectionText(raw)
				if err == nil {
					err = checkSection(sec, text)
				}
				if err != nil {
					return SeedResult{}, fmt.Errorf("%s: %w", where, err)
				}
				texts[sec] = text
			}
			sections[app] = append(sections[app], texts)
		}
	}
	var pws []seededConnector
	for i, body := range sd.Patchworks.Connectors {
		body = deepCopy(body).(map[string]any)
		var sc seededConnector
		if v, ok := body["test_error"]; ok {
			sc.testError, _ = v.(string)
			delete(body, "test_error")
		}
		if v, ok := body["in_use"]; ok {
			sc.inUse, _ = v.(bool)
			delete(body, "in_use")
		}
		attrs, vars, errs := validateConnector(body, pwCreateRules)
		if len(errs) > 0 {
			return SeedResult{}, fmt.Errorf("seed: patchworks.connectors[%d]: %s", i, errs.message())
		}
		sc.attrs, sc.vars = attrs, vars
		pws = append(pws, sc)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	res := SeedResult{Make: map[string][]string{}, Patchworks: []int64{}}
	for _, app := range apps {
		sa := sd.Make.Apps[app]
		a := s.mk.app(app)
		a.approved, a.absent = sa.Approved, sa.Absent
		res.Make[app] = []string{}
		for i, sc := range sa.Connections {
			c := s.mk.create(app, sc.Label, sc.Type)
			if sc.ConnectedSystemName != nil {
				v := *sc.ConnectedSystemName
				c.connectedSystemName = &v
			}
			c.sections = sections[app][i]
			if sc.Common != nil {
				c.common = deepCopy(sc.Common).(map[string]any)
			}
			res.Make[app] = append(res.Make[app], c.name)
		}
	}
	for _, sc := range pws {
		c := s.pw.create(sc.attrs, sc.vars, s.now())
		c.testError, c.inUse = sc.testError, sc.inUse
		res.Patchworks = append(res.Patchworks, c.id)
	}
	return res, nil
}

// State is everything the server holds, for tests that count or inspect
// objects.
type State struct {
	Make       StateMake       `json:"make"`
	Patchworks StatePatchworks `json:"patchworks"`
	Knobs      Knobs           `json:"knobs"`
}

// StateMake holds the Make apps by name.
type StateMake struct {
	Apps map[string]StateApp `json:"apps"`
}

// StateApp is one Make app. Deleting lists deleted connections that lists
// still show because of the delete lag.
type StateApp struct {
	Approved    bool             `json:"approved"`
	Absent      bool             `json:"absent"`
	Connections []MakeConnection `json:"connections"`
	Deleting    []string         `json:"deleting"`
}

// StatePatchworks holds the connectors by id.
type StatePatchworks struct {
	Connectors []Connector `json:"connectors"`
}

// State returns a deep copy of everything held.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Make: StateMake{Apps: map[string]StateApp{}}, Patchworks: StatePatchworks{Connectors: []Connector{}}, Knobs: s.knobs}
	for name, a := range s.mk.apps {
		sa := StateApp{Approved: a.approved, Absent: a.absent, Connections: []MakeConnection{}, Deleting: []string{}}
		for _, c := range a.order {
			if c.deleted {
				sa.Deleting = append(sa.Deleting, c.name)
			} else {
				sa.Connections = append(sa.Connections, c.export())
			}
		}
		st.Make.Apps[name] = sa
	}
	for _, c := range s.pw.sorted() {
		st.Patchworks.Connectors = append(st.Patchworks.Connectors, c.export())
	}
	return st
}

// knobsWire is Knobs on the control API; latency is a Go duration string.
type knobsWire struct {
	Latency            string   `json:"latency"`
	FailRate           float64  `json:"fail_rate"`
	FailAfterWriteRate float64  `json:"fail_after_write_rate"`
	TimeoutRate        float64  `json:"timeout_rate"`
	Rate429            float64  `json:"rate_429"`
	RateLimit          int      `json:"rate_limit"`
	DeleteLag          int      `json:"delete_lag"`
	IgnoreFields       []string `json:"ignore_fields"`
	VariablesPut       string   `json:"variables_put"`
	NoRetryAfter       bool     `json:"no_retry_after"`
	RateWindow         string   `json:"rate_window"`
	RateHeaders        string   `json:"rate_headers"`
	PageLinks          string   `json:"page_links"`
}

// MarshalJSON writes the control API's form (latency as "10ms").
func (k Knobs) MarshalJSON() ([]byte, error) { return json.Marshal(k.wire()) }

// UnmarshalJSON reads the control API's form; latency may also be a
// number of milliseconds.
func (k *Knobs) UnmarshalJSON(data []byte) error {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(data, &body); err != nil {
		return err
	}
	next := *k
	if err := patchKnobs(&next, body); err != nil {
		return err
	}
	*k = next
	return nil
}

func (k Knobs) wire() knobsWire {
	return knobsWire{Latency: k.Latency.String(), FailRate: k.FailRate, FailAfterWriteRate: k.FailAfterWriteRate,
		TimeoutRate: k.TimeoutRate, Rate429: k.Rate429, RateLimit: k.RateLimit, DeleteLag: k.DeleteLag,
		IgnoreFields: append([]string{}, k.IgnoreFields...), VariablesPut: k.VariablesPut, NoRetryAfter: k.NoRetryAfter,
		RateWindow: k.RateWindow.String(), RateHeaders: k.RateHeaders, PageLinks: k.PageLinks}
}

// patchKnobs applies the keys present in a control request.
func patchKnobs(k *Knobs, body map[string]json.RawMessage) error {
	for key, raw := range body {
		var err error
		switch key {
		case "latency":
			var str string
			if json.Unmarshal(raw, &str) == nil {
				k.Latency, err = time.ParseDuration(str)
			} else {
				var ms float64
				if err = json.Unmarshal(raw, &ms); err == nil {
					k.Latency = time.Duration(ms * float64(time.Millisecond))
				}
			}
		case "fail_rate":
			err = json.Unmarshal(raw, &k.FailRate)
		case "fail_after_write_rate":
			err = json.Unmarshal(raw, &k.FailAfterWriteRate)
		case "timeout_rate":
			err = json.Unmarshal(raw, &k.TimeoutRate)
		case "rate_429":
			err = json.Unmarshal(raw, &k.Rate429)
		case "rate_limit":
			err = json.Unmarshal(raw, &k.RateLimit)
		case "delete_lag":
			err = json.Unmarshal(raw, &k.DeleteLag)
		case "ignore_fields":
			k.IgnoreFields = nil
			err = json.Unmarshal(raw, &k.IgnoreFields)
		case "no_retry_after":
			err = json.Unmarshal(raw, &k.NoRetryAfter)
		case "rate_window":
			var str string
			if err = json.Unmarshal(raw, &str); err == nil {
				k.RateWindow, err = time.ParseDuration(str)
			}
		case "rate_headers":
			err = json.Unmarshal(raw, &k.RateHeaders)
			if err == nil && k.RateHeaders != RateHeadersNone && k.RateHeaders != RateHeadersFull && k.RateHeaders != RateHeadersLaravel {
				err = fmt.Errorf("must be %q, %q or %q", RateHeadersNone, RateHeadersFull, RateHeadersLaravel)
			}
		case "page_links":
			err = json.Unmarshal(raw, &k.PageLinks)
			if err == nil && k.PageLinks != PageLinksWindow && k.PageLinks != PageLinksAll {
				err = fmt.Errorf("must be %q or %q", PageLinksWindow, PageLinksAll)
			}
		case "variables_put":
			err = json.Unmarshal(raw, &k.VariablesPut)
			if err == nil && k.VariablesPut != "" && k.VariablesPut != VariablesMerge && k.VariablesPut != VariablesReplace {
				err = fmt.Errorf("must be %q or %q", VariablesMerge, VariablesReplace)
			}
		default:
			err = fmt.Errorf("unknown knob")
		}
		if err != nil {
			return fmt.Errorf("knob %s: %w", key, err)
		}
	}
	return nil
}

func controlError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]any{"error": err.Error()})
}

func readControlObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	body, err := readBody(w, r)
	if err == nil && len(bytes.TrimSpace(body)) == 0 {
		return map[string]json.RawMessage{}, true
	}
	var obj map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(body, &obj)
	}
	if err != nil || obj == nil {
		controlError(w, http.StatusBadRequest, fmt.Errorf("the body must be a JSON object"))
		return nil, false
	}
	return obj, true
}

// serveControl serves /_emulator/: unauthenticated, never delayed, failed,
// limited or counted.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/_emulator/")
	route := r.Method + " " + p
	switch {
	case route == "GET healthz":
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	case route == "GET requests":
		writeJSON(w, http.StatusOK, s.Counts())
	case route == "POST requests/reset":
		s.ResetCounts()
		writeJSON(w, http.StatusOK, s.Counts())
	case route == "POST reset":
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	case route == "POST seed":
		body, err := readBody(w, r)
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		sd, err := ParseSeed(body)
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		res, err := s.Seed(sd)
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	case route == "GET state":
		writeJSON(w, http.StatusOK, s.State())
	case route == "GET knobs":
		writeJSON(w, http.StatusOK, s.Knobs())
	case route == "POST knobs" || route == "PATCH knobs":
		body, ok := readControlObject(w, r)
		if !ok {
			return
		}
		var err error
		s.UpdateKnobs(func(k *Knobs) {
			next := *k
			if err = patchKnobs(&next, body); err == nil {
				*k = next
			}
		})
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, s.Knobs())
	case strings.HasPrefix(p, "make/connections/") && !strings.Contains(p[len("make/connections/"):], "/"):
		s.controlMakeConnection(w, r, p[len("make/connections/"):])
	case strings.HasPrefix(p, "make/apps/") && !strings.Contains(p[len("make/apps/"):], "/") && r.Method == http.MethodPatch:
		s.controlMakeApp(w, r, p[len("make/apps/"):])
	case strings.HasPrefix(p, "patchworks/connectors/") && !strings.Contains(p[len("patchworks/connectors/"):], "/"):
		s.controlConnector(w, r, p[len("patchworks/connectors/"):])
	default:
		controlError(w, http.StatusNotFound, fmt.Errorf("no control endpoint %s /_emulator/%s", r.Method, p))
	}
}

func (s *Server) controlMakeConnection(w http.ResponseWriter, r *http.Request, name string) {
	switch r.Method {
	case http.MethodDelete:
		if err := s.DeleteMakeConnection(name); err != nil {
			controlError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"deleted": name})
		return
	case http.MethodGet:
	case http.MethodPatch:
		body, ok := readControlObject(w, r)
		if !ok {
			return
		}
		e, err := makeEditFromJSON(body)
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.EditMakeConnection(name, e); err != nil {
			status := http.StatusBadRequest
			if _, found := s.MakeConnection(name); !found {
				status = http.StatusNotFound
			}
			controlError(w, status, err)
			return
		}
	default:
		controlError(w, http.StatusMethodNotAllowed, fmt.Errorf("use GET, PATCH or DELETE"))
		return
	}
	c, ok := s.MakeConnection(name)
	if !ok {
		controlError(w, http.StatusNotFound, fmt.Errorf("make connection %q not found", name))
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func makeEditFromJSON(body map[string]json.RawMessage) (MakeEdit, error) {
	var e MakeEdit
	for key, raw := range body {
		var err error
		switch key {
		case "label":
			err = json.Unmarshal(raw, &e.Label)
		case "type":
			err = json.Unmarshal(raw, &e.Type)
		case "connectedSystemName":
			err = json.Unmarshal(raw, &e.ConnectedSystemName)
			e.ClearConnectedSystemName = e.ConnectedSystemName == nil
		case "sections":
			var secs map[string]json.RawMessage
			if err = json.Unmarshal(raw, &secs); err == nil {
				e.Sections = map[string]string{}
				for sec, v := range secs {
					if e.Sections[sec], err = sectionText(v); err != nil {
						break
					}
				}
			}
		case "common":
			err = json.Unmarshal(raw, &e.Common)
			if err == nil && e.Common == nil {
				err = fmt.Errorf("must be an object")
			}
		default:
			err = fmt.Errorf("unknown field")
		}
		if err != nil {
			return MakeEdit{}, fmt.Errorf("%s: %w", key, err)
		}
	}
	return e, nil
}

func (s *Server) controlMakeApp(w http.ResponseWriter, r *http.Request, app string) {
	body, ok := readControlObject(w, r)
	if !ok {
		return
	}
	var patch struct {
		Approved *bool `json:"approved"`
		Absent   *bool `json:"absent"`
	}
	raw, _ := json.Marshal(body)
	if err := json.Unmarshal(raw, &patch); err != nil {
		controlError(w, http.StatusBadRequest, err)
		return
	}
	s.mu.Lock()
	a := s.mk.app(app)
	if patch.Approved != nil {
		a.approved = *patch.Approved
	}
	if patch.Absent != nil {
		a.absent = *patch.Absent
	}
	out := map[string]any{"app": app, "approved": a.approved, "absent": a.absent}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) controlConnector(w http.ResponseWriter, r *http.Request, idText string) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		controlError(w, http.StatusNotFound, fmt.Errorf("connector id %q is not an integer", idText))
		return
	}
	switch r.Method {
	case http.MethodDelete:
		if err := s.DeleteConnector(id); err != nil {
			controlError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"deleted": id})
		return
	case http.MethodGet:
	case http.MethodPatch:
		body, err := readBody(w, r)
		var patch map[string]any
		if err == nil {
			err = decodeJSON(body, &patch)
		}
		if err != nil || patch == nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("the body must be a JSON object"))
			return
		}
		if err := s.EditConnector(id, patch); err != nil {
			status := http.StatusBadRequest
			if _, found := s.Connector(id); !found {
				status = http.StatusNotFound
			}
			controlError(w, status, err)
			return
		}
	default:
		controlError(w, http.StatusMethodNotAllowed, fmt.Errorf("use GET, PATCH or DELETE"))
		return
	}
	c, ok := s.Connector(id)
	if !ok {
		controlError(w, http.StatusNotFound, fmt.Errorf("patchworks connector %d not found", id))
		return
	}
	writeJSON(w, http.StatusOK, c)
}
