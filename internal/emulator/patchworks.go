package emulator

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RateLimitUnits are the values accepted for rate_limit_unit. ASSUMED: the
// docs show an enum without its values (API-NOTES); keep this list equal to
// the client's.
var RateLimitUnits = []string{"second", "minute", "hour", "day"}

// Pagination of GET /api/v1/connectors. The default page size is ASSUMED
// to be Laravel's 15 (API-NOTES); the maximum is documented.
const (
	DefaultPerPage = 15
	MaxPerPage     = 100
)

// Query options the list accepts; anything else under filter[], include or
// sort is answered 400, as Spatie's query builder does. The filters are the
// documented ones (API reference, "List connectors"; API-NOTES) and there
// is no name or id filter. The emulator holds none of the attributes they
// select on, so a filtered list is empty (ASSUMED semantics; syncd uses no
// filter). Of the documented includes only variables is modelled: the
// others are answered 400, stricter than the service. Sorting by name is
// ASSUMED.
var (
	pwFilters  = []string{"canonical_key", "system", "system_template_id", "forSystemTemplate", "forSession", "platformSession"}
	pwIncludes = []string{"variables"}
	pwSorts    = []string{"name"}
)

// pwTimeFormat is how Laravel serialises timestamps.
const pwTimeFormat = "2006-01-02T15:04:05.000000Z"

type fieldKind int

const (
	kindString fieldKind = iota
	kindInt
	kindID // string or integer, stored as sent
	kindUnit
)

// pwField is one connector attribute. writeOnly fields are accepted but
// never returned (ASSUMED for the create-only session_id and
// platform_app_key, and for the update-only type).
type pwField struct {
	name      string
	kind      fieldKind
	required  bool // on create
	nullable  bool
	onCreate  bool
	onUpdate  bool
	writeOnly bool
	maxLen    int
}

// pwFields is in the order of the vendor's validation table, which is the
// order Laravel reports errors in. onUpdate follows the documented update
// rules, which list neither certificate_id nor session_id nor
// platform_app_key (API reference, "Update a connector"; API-NOTES): an
// update carrying them answers 200 and does not keep them, like any field
// outside the rules.
var pwFields = []pwField{
	{name: "name", kind: kindString, required: true, onCreate: true, onUpdate: true, maxLen: 255},
	{name: "authentication_implementation_id", kind: kindID, required: true, onCreate: true, onUpdate: true},
	{name: "type", kind: kindString, nullable: true, onUpdate: true, writeOnly: true},
	{name: "timezone", kind: kindString, required: true, onCreate: true, onUpdate: true},
	{name: "date_format", kind: kindString, required: true, onCreate: true, onUpdate: true},
	{name: "rate_limit_unit", kind: kindUnit, required: true, onCreate: true, onUpdate: true},
	{name: "rate_limit_duration", kind: kindInt, required: true, onCreate: true, onUpdate: true},
	{name: "connection_pool_id", kind: kindInt, nullable: true, onCreate: true, onUpdate: true},
	{name: "session_id", kind: kindString, nullable: true, onCreate: true, writeOnly: true},
	{name: "platform_app_key", kind: kindString, nullable: true, onCreate: true, writeOnly: true},
	{name: "certificate_id", kind: kindID, nullable: true, onCreate: true},
}

type pwState struct {
	nextID, nextVarID int64
	conns             map[int64]*connector
}

type connector struct {
	id                   int64
	attrs                map[string]any
	vars                 []*Variable
	createdAt, updatedAt time.Time
	testError            string
	inUse                bool
}

func newPWState() *pwState { return &pwState{conns: map[int64]*connector{}} }

// Connector is a Patchworks connector as the emulator holds it. Attributes
// are keyed by their API names and include write-only ones as sent.
type Connector struct {
	ID         int64          `json:"id"`
	Attributes map[string]any `json:"attributes"`
	// Variables carry their real values, secret ones included.
	Variables []Variable `json:"variables"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// TestError, when set, makes POST /connectors/{id}/test fail with it.
	TestError string `json:"test_error,omitempty"`
	// InUse imitates a connector used by a process flow: DELETE is refused.
	InUse bool `json:"in_use,omitempty"`
}

// Variable is a connector variable. Value, Label and Pivot.Alias are a
// string or nil.
type Variable struct {
	ID     int64  `json:"id"`
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Label  any    `json:"label"`
	Secret bool   `json:"secret"`
	Locked bool   `json:"locked"`
	Pivot  Pivot  `json:"pivot"`
}

// Pivot is a variable's per-connector settings.
type Pivot struct {
	Alias        any  `json:"alias"`
	Configurable bool `json:"configurable"`
	Required     bool `json:"required"`
	Advanced     bool `json:"advanced"`
}

func (c *connector) export() Connector {
	out := Connector{ID: c.id, Attributes: deepCopy(c.attrs).(map[string]any), Variables: []Variable{}, CreatedAt: c.createdAt, UpdatedAt: c.updatedAt, TestError: c.testError, InUse: c.inUse}
	for _, v := range c.vars {
		out.Variables = append(out.Variables, *v)
	}
	return out
}

// wire is the connector as the API returns it.
func (c *connector) wire(withVariables bool) map[string]any {
	out := map[string]any{"id": c.id, "created_at": c.createdAt.UTC().Format(pwTimeFormat), "updated_at": c.updatedAt.UTC().Format(pwTimeFormat)}
	for _, f := range pwFields {
		if !f.writeOnly {
			out[f.name] = c.attrs[f.name] // nil when never set
		}
	}
	if withVariables {
		vars := []any{}
		for _, v := range c.vars {
			val := v.Value
			if v.Secret {
				val = nil // write-only (API-NOTES)
			}
			vars = append(vars, map[string]any{
				"id": v.ID, "key": v.Key, "value": val, "label": v.Label, "secret": v.Secret, "locked": v.Locked,
				"pivot": map[string]any{"alias": v.Pivot.Alias, "configurable": v.Pivot.Configurable, "required": v.Pivot.Required, "advanced": v.Pivot.Advanced},
			})
		}
		out["variables"] = vars
	}
	return out
}

// Connectors lists every connector by id.
func (s *Server) Connectors() []Connector {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Connector{}
	for _, c := range s.pw.sorted() {
		out = append(out, c.export())
	}
	return out
}

// Connector returns one connector by id.
func (s *Server) Connector(id int64) (Connector, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pw.conns[id]
	if c == nil {
		return Connector{}, false
	}
	return c.export(), true
}

// ConnectorCount counts the connectors.
func (s *Server) ConnectorCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pw.conns)
}

// EditConnector changes a connector out of band, as a person in the
// dashboard would. patch holds connector fields (checked like an API
// update), "variables" (upserted by id or key), and three emulator-only
// keys: "remove_variables" (a list of keys), "test_error" (string or
// null) and "in_use" (bool).
func (s *Server) EditConnector(id int64, patch map[string]any) error {
	patch = deepCopy(patch).(map[string]any)
	var removeKeys []string
	if v, ok := patch["remove_variables"]; ok {
		list, _ := v.([]any)
		if list == nil {
			if strs, isStrings := v.([]string); isStrings {
				for _, k := range strs {
					list = append(list, k)
				}
			}
		}
		for _, k := range list {
			str, isString := k.(string)
			if !isString {
				return fmt.Errorf("remove_variables must be a list of keys")
			}
			removeKeys = append(removeKeys, str)
		}
		delete(patch, "remove_variables")
	}
	testErr, setTestErr := patch["test_error"]
	delete(patch, "test_error")
	if setTestErr {
		if _, ok := testErr.(string); !ok && testErr != nil {
			return fmt.Errorf("test_error must be a string or null")
		}
	}
	inUse, setInUse := patch["in_use"]
	delete(patch, "in_use")
	if _, ok := inUse.(bool); setInUse && !ok {
		return fmt.Errorf("in_use must be true or false")
	}
	attrs, vars, verrs := validateConnector(patch, pwEdit)
	if len(verrs) > 0 {
		return fmt.Errorf("invalid edit: %s", verrs.message())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pw.conns[id]
	if c == nil {
		return fmt.Errorf("patchworks connector %d not found", id)
	}
	s.pw.apply(c, attrs, vars)
	c.vars = slices.DeleteFunc(c.vars, func(v *Variable) bool { return slices.Contains(removeKeys, v.Key) })
	if setTestErr {
		c.testError, _ = testErr.(string)
	}
	if setInUse {
		c.inUse = inUse.(bool)
	}
	c.updatedAt = s.now()
	return nil
}

// DeleteConnector deletes a connector out of band, even one in use.
func (s *Server) DeleteConnector(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pw.conns[id] == nil {
		return fmt.Errorf("patchworks connector %d not found", id)
	}
	delete(s.pw.conns, id)
	return nil
}

func (p *pwState) sorted() []*connector {
	out := make([]*connector, 0, len(p.conns))
	for _, c := range p.conns {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (p *pwState) create(attrs map[string]any, vars []varInput, now time.Time) *connector {
	p.nextID++
	c := &connector{id: p.nextID, attrs: map[string]any{}, createdAt: now, updatedAt: now}
	p.apply(c, attrs, vars)
	p.conns[c.id] = c
	return c
}

// replaceVariables removes the variables a PUT's list does not name (by id
// or key): Knobs.VariablesPut "replace". Matched variables keep the fields
// the list leaves out, as a Laravel sync() of the pivot keeps the related
// rows. ASSUMED, like the default that keeps them.
func (c *connector) replaceVariables(vars []varInput) {
	c.vars = slices.DeleteFunc(c.vars, func(v *Variable) bool {
		return !slices.ContainsFunc(vars, func(in varInput) bool {
			return (in.id != 0 && in.id == v.ID) || (in.key != "" && in.key == v.Key)
		})
	})
}

// apply sets the given attributes and upserts the given variables: a
// variable is matched by id, then by key; variables not listed are left
// alone (ASSUMED: the docs do not say whether PUT replaces the list; see
// Knobs.VariablesPut for the other possibility).
func (p *pwState) apply(c *connector, attrs map[string]any, vars []varInput) {
	for k, v := range attrs {
		c.attrs[k] = v
	}
	for _, in := range vars {
		var v *Variable
		if in.id != 0 {
			if i := slices.IndexFunc(c.vars, func(x *Variable) bool { return x.ID == in.id }); i >= 0 {
				v = c.vars[i]
			}
		}
		if v == nil && in.key != "" {
			if i := slices.IndexFunc(c.vars, func(x *Variable) bool { return x.Key == in.key }); i >= 0 {
				v = c.vars[i]
			}
		}
		if v == nil {
			p.nextVarID++
			v = &Variable{ID: p.nextVarID}
			c.vars = append(c.vars, v)
		}
		in.applyTo(v)
	}
}

// varInput is one validated element of a request's variables list; only
// the fields present in the request are set.
type varInput struct {
	id     int64
	key    string
	fields map[string]any // key, value, label, secret, locked
	pivot  map[string]any // alias, configurable, required, advanced
}

func (in varInput) applyTo(v *Variable) {
	for k, x := range in.fields {
		switch k {
		case "key":
			v.Key = x.(string)
		case "value":
			v.Value = x
		case "label":
			v.Label = x
		case "secret":
			v.Secret = x.(bool)
		case "locked":
			v.Locked = x.(bool)
		}
	}
	for k, x := range in.pivot {
		switch k {
		case "alias":
			v.Pivot.Alias = x
		case "configurable":
			v.Pivot.Configurable = x.(bool)
		case "required":
			v.Pivot.Required = x.(bool)
		case "advanced":
			v.Pivot.Advanced = x.(bool)
		}
	}
}

// fieldErrors are Laravel validation errors in the order they were found.
type fieldErrors []struct{ field, msg string }

func (e *fieldErrors) add(field, msg string) {
	*e = append(*e, struct{ field, msg string }{field, msg})
}

// message is Laravel's summary: the first message, and how many more.
func (e fieldErrors) message() string {
	msg := e[0].msg
	switch n := len(e) - 1; {
	case n == 1:
		msg += " (and 1 more error)"
	case n > 1:
		msg += fmt.Sprintf(" (and %d more errors)", n)
	}
	return msg
}

func (e fieldErrors) body() map[string]any {
	errs := map[string][]string{}
	for _, x := range e {
		errs[x.field] = append(errs[x.field], x.msg)
	}
	return map[string]any{"message": e.message(), "errors": errs}
}

// human is how Laravel names a field in messages.
func human(field string) string { return strings.ReplaceAll(field, "_", " ") }

// toInt accepts what Laravel's integer rule accepts: integral numbers and
// strings holding one.
func toInt(v any) (int64, bool) {
	switch t := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(t.String(), 10, 64)
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		return n, err == nil
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t), true
		}
	case int:
		return int64(t), true
	case int64:
		return t, true
	}
	return 0, false
}

// toBool accepts what Laravel's boolean rule accepts.
func toBool(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case json.Number:
		switch t.String() {
		case "0":
			return false, true
		case "1":
			return true, true
		}
	case float64:
		if t == 0 || t == 1 {
			return t == 1, true
		}
	case int:
		if t == 0 || t == 1 {
			return t == 1, true
		}
	case string:
		switch t {
		case "0":
			return false, true
		case "1":
			return true, true
		}
	}
	return false, false
}

// pwRules says which validation rules a body is checked against.
type pwRules int

const (
	pwCreateRules pwRules = iota
	pwUpdateRules
	// pwEdit is a person's edit in the dashboard: any field, none required.
	pwEdit
)

// validateConnector checks a create, update or edit body and returns the
// attributes to store, the variables to upsert, and Laravel's errors.
// Fields outside the rules are dropped silently, as Laravel does.
func validateConnector(body map[string]any, rules pwRules) (map[string]any, []varInput, fieldErrors) {
	attrs := map[string]any{}
	var errs fieldErrors
	create := rules == pwCreateRules
	for _, f := range pwFields {
		if (create && !f.onCreate) || (rules == pwUpdateRules && !f.onUpdate) {
			continue
		}
		v, present := body[f.name]
		if !present {
			if create && f.required {
				errs.add(f.name, fmt.Sprintf("The %s field is required.", human(f.name)))
			}
			continue
		}
		// Laravel turns "" into null before validating.
		if v == nil || v == "" {
			if f.nullable {
				attrs[f.name] = nil
			} else {
				errs.add(f.name, fmt.Sprintf("The %s field is required.", human(f.name)))
			}
			continue
		}
		switch f.kind {
		case kindString:
			str, ok := v.(string)
			if !ok {
				errs.add(f.name, fmt.Sprintf("The %s field must be a string.", human(f.name)))
				continue
			}
			if f.maxLen > 0 && len([]rune(str)) > f.maxLen {
				errs.add(f.name, fmt.Sprintf("The %s field must not be greater than %d characters.", human(f.name), f.maxLen))
				continue
			}
			attrs[f.name] = str
		case kindInt:
			n, ok := toInt(v)
			if !ok {
				errs.add(f.name, fmt.Sprintf("The %s field must be an integer.", human(f.name)))
				continue
			}
			attrs[f.name] = n
		case kindID:
			switch t := v.(type) {
			case string:
				attrs[f.name] = t
			default:
				n, ok := toInt(v)
				if !ok {
					errs.add(f.name, fmt.Sprintf("The %s field must be a string or an integer.", human(f.name)))
					continue
				}
				attrs[f.name] = n
			}
		case kindUnit:
			str, _ := v.(string)
			if !slices.Contains(RateLimitUnits, str) {
				errs.add(f.name, fmt.Sprintf("The selected %s is invalid.", human(f.name)))
				continue
			}
			attrs[f.name] = str
		}
	}
	vars := validateVariables(body, create, &errs)
	return attrs, vars, errs
}

func validateVariables(body map[string]any, create bool, errs *fieldErrors) []varInput {
	raw, present := body["variables"]
	if !present || raw == nil {
		return nil
	}
	list, ok := raw.([]any)
	if !ok {
		errs.add("variables", "The variables field must be an array.")
		return nil
	}
	var out []varInput
	seen := map[string]bool{}
	for i, item := range list {
		p := fmt.Sprintf("variables.%d.", i)
		obj, ok := item.(map[string]any)
		if !ok {
			errs.add(fmt.Sprintf("variables.%d", i), fmt.Sprintf("The variables.%d field must be an array.", i))
			continue
		}
		in := varInput{fields: map[string]any{}, pivot: map[string]any{}}
		if idv, has := obj["id"]; has && idv != nil && !create {
			n, ok := toInt(idv)
			if !ok {
				errs.add(p+"id", "The "+p+"id field must be an integer.")
			}
			in.id = n
		}
		switch k, has := obj["key"]; {
		case !has || k == nil || k == "":
			if in.id == 0 {
				errs.add(p+"key", "The "+p+"key field is required.")
			}
		default:
			str, isString := k.(string)
			if !isString {
				errs.add(p+"key", "The "+p+"key field must be a string.")
			} else if seen[str] {
				errs.add(p+"key", "The "+p+"key field has a duplicate value.")
			} else {
				seen[str] = true
				in.key = str
				in.fields["key"] = str
			}
		}
		for _, name := range []string{"value", "label"} {
			if x, has := obj[name]; has {
				if _, isString := x.(string); !isString && x != nil {
					errs.add(p+name, "The "+p+name+" field must be a string.")
					continue
				}
				in.fields[name] = x
			}
		}
		for _, name := range []string{"secret", "locked"} {
			if x, has := obj[name]; has && x != nil {
				b, ok := toBool(x)
				if !ok {
					errs.add(p+name, "The "+p+name+" field must be true or false.")
					continue
				}
				in.fields[name] = b
			}
		}
		if pv, has := obj["pivot"]; has && pv != nil {
			pobj, ok := pv.(map[string]any)
			if !ok {
				errs.add(p+"pivot", "The "+p+"pivot field must be an array.")
			}
			if x, has := pobj["alias"]; has {
				if _, isString := x.(string); !isString && x != nil {
					errs.add(p+"pivot.alias", "The "+p+"pivot.alias field must be a string.")
				} else {
					in.pivot["alias"] = x
				}
			}
			for _, name := range []string{"configurable", "required", "advanced"} {
				if x, has := pobj[name]; has && x != nil {
					b, ok := toBool(x)
					if !ok {
						errs.add(p+"pivot."+name, "The "+p+"pivot."+name+" field must be true or false.")
						continue
					}
					in.pivot[name] = b
				}
			}
		}
		out = append(out, in)
	}
	return out
}

func pwMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg})
}

func pwNotFound(w http.ResponseWriter) { pwMessage(w, http.StatusNotFound, "Not found.") }

func pwMethodNotAllowed(w http.ResponseWriter, r *http.Request, allowed string) {
	route := strings.TrimPrefix(r.URL.Path, "/")
	pwMessage(w, http.StatusMethodNotAllowed, fmt.Sprintf("The %s method is not supported for route %s. Supported methods: %s.", r.Method, route, allowed))
}

// wantsJSON is Laravel's Request::wantsJson: only a request whose Accept
// names JSON gets JSON errors (API-NOTES: always send Accept:
// application/json).
func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "/json") || strings.Contains(a, "+json")
}

// servePatchworks answers like Laravel: without a JSON Accept header an
// authentication or validation failure is a redirect to an HTML page,
// not a JSON error.
func (s *Server) servePatchworks(w http.ResponseWriter, r *http.Request, info *reqInfo) {
	if wantsJSON(r) {
		s.servePatchworksJSON(w, r, info)
		return
	}
	buf := &bufferWriter{header: http.Header{}}
	s.servePatchworksJSON(buf, r, info)
	if buf.status == http.StatusUnauthorized || buf.status == http.StatusUnprocessableEntity {
		target := "http://" + r.Host + "/login"
		if buf.status == http.StatusUnprocessableEntity {
			target = "http://" + r.Host + "/"
			if ref := r.Header.Get("Referer"); ref != "" {
				target = ref
			}
		}
		w.Header().Set("Location", target)
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusFound)
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta http-equiv=\"refresh\" content=\"0;url='%s'\" /><title>Redirecting to %s</title></head><body>Redirecting to <a href=\"%s\">%s</a>.</body></html>", target, target, target, target)
		return
	}
	buf.copyTo(w)
}

func (s *Server) servePatchworksJSON(w http.ResponseWriter, r *http.Request, info *reqInfo) {
	if r.Header.Get("Authorization") != s.pwToken {
		pwMessage(w, http.StatusUnauthorized, "Unauthenticated.")
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/"), "/")
	if segs[0] != "connectors" || len(segs) > 3 || slices.Contains(segs, "") {
		pwMessage(w, http.StatusNotFound, fmt.Sprintf("The route %s could not be found.", strings.TrimPrefix(r.URL.Path, "/")))
		return
	}
	if len(segs) == 1 {
		info.route = "/api/v1/connectors"
		switch r.Method {
		case http.MethodGet:
			s.pwList(w, r)
		case http.MethodPost:
			s.pwCreate(w, r)
		default:
			pwMethodNotAllowed(w, r, "GET, POST")
		}
		return
	}
	id, err := strconv.ParseInt(segs[1], 10, 64)
	if err != nil || id <= 0 {
		pwNotFound(w)
		return
	}
	if len(segs) == 3 {
		if segs[2] != "test" {
			pwMessage(w, http.StatusNotFound, fmt.Sprintf("The route %s could not be found.", strings.TrimPrefix(r.URL.Path, "/")))
			return
		}
		info.route = "/api/v1/connectors/{id}/test"
		if r.Method != http.MethodPost {
			pwMethodNotAllowed(w, r, "POST")
			return
		}
		s.pwTest(w, id)
		return
	}
	info.route = "/api/v1/connectors/{id}"
	// Only the documented methods: no PATCH, no HEAD (API reference).
	switch r.Method {
	case http.MethodGet:
		s.pwShow(w, r, id)
	case http.MethodPut:
		s.pwUpdate(w, r, id)
	case http.MethodDelete:
		s.pwDelete(w, id)
	default:
		pwMethodNotAllowed(w, r, "GET, PUT, DELETE")
	}
}

// includes parses ?include=, answering 400 for anything not allowed.
func includes(w http.ResponseWriter, q url.Values) (withVariables, ok bool) {
	raw := q.Get("include")
	if raw == "" {
		return false, true
	}
	var bad []string
	for _, inc := range strings.Split(raw, ",") {
		switch {
		case inc == "variables":
			withVariables = true
		default:
			bad = append(bad, inc)
		}
	}
	if len(bad) > 0 {
		pwMessage(w, http.StatusBadRequest, fmt.Sprintf("Requested include(s) `%s` are not allowed. Allowed include(s) are `%s`.", strings.Join(bad, ", "), strings.Join(pwIncludes, ", ")))
		return false, false
	}
	return withVariables, true
}

func (s *Server) pwList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	withVars, ok := includes(w, q)
	if !ok {
		return
	}
	filters := map[string][]string{}
	var badFilters []string
	for k, vs := range q {
		if !strings.HasPrefix(k, "filter[") || !strings.HasSuffix(k, "]") {
			continue
		}
		name := k[len("filter[") : len(k)-1]
		if !slices.Contains(pwFilters, name) {
			badFilters = append(badFilters, name)
			continue
		}
		for _, v := range vs {
			filters[name] = append(filters[name], strings.Split(v, ",")...)
		}
	}
	if len(badFilters) > 0 {
		sort.Strings(badFilters)
		pwMessage(w, http.StatusBadRequest, fmt.Sprintf("Requested filter(s) `%s` are not allowed. Allowed filter(s) are `%s`.", strings.Join(badFilters, ", "), strings.Join(pwFilters, ", ")))
		return
	}
	var sorts []string
	if raw := q.Get("sort"); raw != "" {
		var bad []string
		for _, srt := range strings.Split(raw, ",") {
			if !slices.Contains(pwSorts, strings.TrimPrefix(srt, "-")) {
				bad = append(bad, srt)
			}
			sorts = append(sorts, srt)
		}
		if len(bad) > 0 {
			pwMessage(w, http.StatusBadRequest, fmt.Sprintf("Requested sort(s) `%s` is not allowed. Allowed sort(s) are `%s`.", strings.Join(bad, ", "), strings.Join(pwSorts, ", ")))
			return
		}
	}
	var errs fieldErrors
	page, perPage := int64(1), int64(DefaultPerPage)
	if raw, has := q["page"]; has {
		n, ok := toInt(raw[0])
		switch {
		case !ok:
			errs.add("page", "The page field must be an integer.")
		case n < 1:
			errs.add("page", "The page field must be at least 1.")
		default:
			page = n
		}
	}
	if raw, has := q["per_page"]; has {
		n, ok := toInt(raw[0])
		switch {
		case !ok:
			errs.add("per_page", "The per page field must be an integer.")
		case n < 1 || n > MaxPerPage:
			errs.add("per_page", fmt.Sprintf("The per page field must be between 1 and %d.", MaxPerPage))
		default:
			perPage = n
		}
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, errs.body())
		return
	}

	s.mu.Lock()
	all := s.pw.sorted()
	var rows []*connector
	for _, c := range all {
		if keep(c, filters) {
			rows = append(rows, c)
		}
	}
	for i := len(sorts) - 1; i >= 0; i-- { // stable sorts, last key first
		desc := strings.HasPrefix(sorts[i], "-")
		sort.SliceStable(rows, func(a, b int) bool {
			x, _ := rows[a].attrs["name"].(string)
			y, _ := rows[b].attrs["name"].(string)
			if desc {
				return x > y
			}
			return x < y
		})
	}
	total := int64(len(rows))
	lastPage := max(1, (total+perPage-1)/perPage)
	from := total // past the last page: empty, as Laravel answers
	if page <= lastPage {
		from = (page - 1) * perPage
	}
	to := min(from+perPage, total)
	data := []any{}
	for _, c := range rows[from:to] {
		data = append(data, c.wire(withVars))
	}
	allLinks := s.knobs.PageLinks == PageLinksAll
	s.mu.Unlock()

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := scheme + "://" + r.Host + r.URL.Path
	pageURL := func(n int64) any {
		if n < 1 || n > lastPage {
			return nil
		}
		v := r.URL.Query()
		v.Set("page", strconv.FormatInt(n, 10))
		return path + "?" + v.Encode()
	}
	var fromV, toV any
	if to > from {
		fromV, toV = from+1, to
	}
	metaLinks := []any{map[string]any{"url": pageURL(page - 1), "label": "&laquo; Previous", "active": false}}
	for _, n := range pageWindow(page, lastPage, allLinks) {
		if n == 0 {
			metaLinks = append(metaLinks, map[string]any{"url": nil, "label": "...", "active": false})
			continue
		}
		metaLinks = append(metaLinks, map[string]any{"url": pageURL(n), "label": strconv.FormatInt(n, 10), "active": n == page})
	}
	metaLinks = append(metaLinks, map[string]any{"url": pageURL(page + 1), "label": "Next &raquo;", "active": false})
	writeJSON(w, http.StatusOK, map[string]any{
		"data": data,
		"links": map[string]any{
			"first": pageURL(1), "last": pageURL(lastPage), "prev": pageURL(page - 1), "next": pageURL(page + 1),
		},
		"meta": map[string]any{
			"current_page": page, "from": fromV, "last_page": lastPage, "links": metaLinks,
			"path": path, "per_page": perPage, "to": toV, "total": total,
		},
	})
}

// keep applies filter[k]=a,b as "k in (a, b)", exactly.
func keep(c *connector, filters map[string][]string) bool {
	for name, vals := range filters {
		var have string
		switch name {
		case "id":
			have = strconv.FormatInt(c.id, 10)
		default:
			have = fmt.Sprint(c.attrs[name])
		}
		if !slices.Contains(vals, have) {
			return false
		}
	}
	return true
}

// readPWObject reads a JSON object body, answering for itself when it is
// not one.
//
// Like Laravel (Request::isJson), a body is read as JSON only when the
// Content-Type names JSON; any other body brings no input, so a create
// fails validation and an update changes nothing.
func readPWObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	body, err := readBody(w, r)
	if err != nil {
		pwMessage(w, http.StatusBadRequest, "Could not read the request body.")
		return nil, false
	}
	if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "/json") && !strings.Contains(ct, "+json") {
		return map[string]any{}, true
	}
	var obj map[string]any
	if err := decodeJSON(body, &obj); err != nil || obj == nil {
		pwMessage(w, http.StatusBadRequest, "The request body must be a JSON object.")
		return nil, false
	}
	return obj, true
}

func (s *Server) pwCreate(w http.ResponseWriter, r *http.Request) {
	withVars, ok := includes(w, r.URL.Query())
	if !ok {
		return
	}
	body, ok := readPWObject(w, r)
	if !ok {
		return
	}
	attrs, vars, errs := validateConnector(body, pwCreateRules)
	if len(errs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, errs.body())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pw.create(attrs, vars, s.now())
	// Documented as 200, not Laravel's usual 201 (API-NOTES).
	writeJSON(w, http.StatusOK, map[string]any{"data": c.wire(withVars)})
}

func (s *Server) pwShow(w http.ResponseWriter, r *http.Request, id int64) {
	withVars, ok := includes(w, r.URL.Query())
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pw.conns[id]
	if c == nil {
		pwNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": c.wire(withVars)})
}

func (s *Server) pwUpdate(w http.ResponseWriter, r *http.Request, id int64) {
	withVars, ok := includes(w, r.URL.Query())
	if !ok {
		return
	}
	body, ok := readPWObject(w, r)
	if !ok {
		return
	}
	attrs, vars, errs := validateConnector(body, pwUpdateRules)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pw.conns[id]
	if c == nil {
		pwNotFound(w)
		return
	}
	// An id must name a variable of this connector.
	for i, in := range vars {
		if in.id != 0 && !slices.ContainsFunc(c.vars, func(v *Variable) bool { return v.ID == in.id }) {
			errs.add(fmt.Sprintf("variables.%d.id", i), fmt.Sprintf("The selected variables.%d.id is invalid.", i))
		}
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, errs.body())
		return
	}
	for k := range attrs {
		if s.knobs.ignores("patchworks/" + k) {
			delete(attrs, k)
		}
	}
	_, listed := body["variables"]
	if s.knobs.ignores("patchworks/variables") {
		vars, listed = nil, false
	}
	if listed && s.knobs.VariablesPut == VariablesReplace {
		c.replaceVariables(vars)
	}
	s.pw.apply(c, attrs, vars)
	c.updatedAt = s.now()
	writeJSON(w, http.StatusOK, map[string]any{"data": c.wire(withVars)})
}

func (s *Server) pwDelete(w http.ResponseWriter, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pw.conns[id]
	if c == nil {
		pwNotFound(w)
		return
	}
	if c.inUse {
		pwMessage(w, http.StatusConflict, "This connector is used by a process flow and cannot be deleted.")
		return
	}
	delete(s.pw.conns, id)
	pwMessage(w, http.StatusOK, "Connector deleted.")
}

func (s *Server) pwTest(w http.ResponseWriter, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pw.conns[id]
	if c == nil {
		pwNotFound(w)
		return
	}
	if c.testError != "" {
		pwMessage(w, http.StatusUnprocessableEntity, c.testError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// pageWindow lists the pages meta.links names, 0 standing for "...":
// every page with all, else Laravel's UrlWindow with three pages on each
// side of the current one. Up to 13 pages, every page; with the current
// page among the first 7, pages 1-10 and the last two; among the last 7,
// the first two and the last 10; else the first two, current-3 to
// current+3, and the last two.
func pageWindow(page, last int64, all bool) []int64 {
	const each = 3
	const window = each + 4
	span := func(from, to int64) []int64 {
		var out []int64
		for n := max(from, 1); n <= min(to, last); n++ {
			out = append(out, n)
		}
		return out
	}
	if all || last < each*2+8 {
		return span(1, last)
	}
	first, lastTwo := span(1, 2), span(last-1, last)
	switch {
	case page <= window:
		return append(append(span(1, window+each), 0), lastTwo...)
	case page > last-window:
		return append(append(first, 0), span(last-(window+each-1), last)...)
	}
	return append(append(append(append(first, 0), span(page-each, page+each)...), 0), lastTwo...)
}
