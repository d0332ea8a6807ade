package patchworks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
)

const platformName = "patchworks"

// DefaultRequestsPerMinute is an assumption: Patchworks does not publish
// its Core API limit, and Laravel's throttle is configured per app. 600/min
// is a guess that a 429 with Retry-After corrects (API-NOTES: assumed).
const DefaultRequestsPerMinute = 600

// MaxPerPage is the largest page the API serves.
const MaxPerPage = 100

// maxPages stops a listing whose meta never ends (a broken server).
var maxPages = 10000 // a variable only so that a test can lower it

// Config configures a Client. BaseURL is the part before /api/v1.
type Config struct {
	BaseURL           string
	Token             string  // the API key, sent as Authorization: <key>
	RequestsPerMinute int     // 0 means DefaultRequestsPerMinute
	Burst             int     // unused: the transport bursts up to the minute's allowance
	QuotaShare        float64 // share of RequestsPerMinute syncd may use; 0 means all of it
	MaxConcurrency    int     // 0 means transport.DefaultMaxConcurrency
	Timeout           time.Duration
	Retry             transport.Retry
	HTTPClient        *http.Client
	Logger            *slog.Logger
}

// Client talks to the Patchworks Core API v1 connectors endpoints.
type Client struct {
	t           *transport.Client
	concurrency int
	vars        *varIDs
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("patchworks: a base URL is required")
	}
	if cfg.Token == "" {
		return nil, errors.New("patchworks: an API key is required")
	}
	rpm := cfg.RequestsPerMinute
	if rpm <= 0 {
		rpm = DefaultRequestsPerMinute
	}
	conc := cfg.MaxConcurrency
	if conc <= 0 {
		conc = transport.DefaultMaxConcurrency
	}
	base := strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/api/v1") + "/api/v1"
	t, err := transport.New(transport.Config{
		Platform:      platformName,
		BaseURL:       base,
		Authorization: cfg.Token,
		// Patchworks' collection sends both on every request, GET included.
		Header:            http.Header{"Accept": {"application/json"}, "Content-Type": {"application/json"}},
		RequestsPerMinute: rpm,
		QuotaShare:        cfg.QuotaShare,
		MaxConcurrency:    conc,
		Timeout:           cfg.Timeout,
		Retry:             cfg.Retry,
		HTTPClient:        cfg.HTTPClient,
		Logger:            cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	return &Client{t: t, concurrency: conc, vars: &varIDs{m: map[string][]varID{}}}, nil
}

// Transport is the client's HTTP layer (its pacing: ETA, Allowance).
func (c *Client) Transport() *transport.Client { return c.t }

// Stats returns the cumulative request counts.
func (c *Client) Stats() platform.Stats { return c.t.Stats() }

// Connector is a connector object as the API returns it (decoded JSON).
type Connector = map[string]any

// ListOptions select one page of connectors.
type ListOptions struct {
	Page    int // 1-based; 0 means 1
	PerPage int // 1..100; 0 means the server's default
	// Filter maps a filter name to the values it accepts (k in values):
	// filter[k]=a,b.
	Filter  map[string][]string
	Include []string
	Sort    string // a field, "-" prefix for descending
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Page > 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	if o.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(min(o.PerPage, MaxPerPage)))
	}
	for k, vs := range o.Filter {
		q.Set("filter["+k+"]", strings.Join(vs, ","))
	}
	if len(o.Include) > 0 {
		q.Set("include", strings.Join(o.Include, ","))
	}
	if o.Sort != "" {
		q.Set("sort", o.Sort)
	}
	return q
}

// Page is one page of a Laravel paginated list.
type Page struct {
	Data  []Connector
	Meta  Meta
	Links Links
}

// Meta is Laravel's pagination meta. Numbers may arrive as strings (Laravel
// echoes per_page from the query string), so they decode leniently.
type Meta struct {
	CurrentPage int
	LastPage    int
	PerPage     int
	Total       int
	Present     bool // the response had a meta object
}

// Links are Laravel's pagination links; nil when null or absent.
type Links struct {
	First, Last, Prev, Next *string
}

func (m *Meta) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	m.Present = true
	m.CurrentPage = looseInt(raw["current_page"])
	m.LastPage = looseInt(raw["last_page"])
	m.PerPage = looseInt(raw["per_page"])
	m.Total = looseInt(raw["total"])
	return nil
}

func looseInt(raw json.RawMessage) int {
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if i, err := strconv.Atoi(n.String()); err == nil {
			return i
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return i
		}
	}
	return 0
}

func connectorPath(id string) string { return "/connectors/" + url.PathEscape(id) }

func (c *Client) do(ctx context.Context, req transport.Request) (*transport.Response, error) {
	resp := c.t.Do(ctx, req)
	return resp, classify(req.Op(), resp)
}

func decodeErr(op string, resp *transport.Response, err error) error {
	return &platform.APIError{Platform: platformName, Op: op, Status: resp.Status, Kind: platform.KindTransient,
		Message: "response is not the expected JSON: " + jsonErrText(err)}
}

func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has type %s", te.Field, te.Value)
	}
	return "malformed"
}

// ListConnectors fetches one page.
func (c *Client) ListConnectors(ctx context.Context, opts ListOptions) (Page, error) {
	req := transport.Request{Method: http.MethodGet, Path: "/connectors", Query: opts.query()}
	resp, err := c.do(ctx, req)
	if err != nil {
		return Page{}, err
	}
	// Data decodes as []any: encoding/json fills an any's maps without
	// reflection, which makes a page about 40% cheaper than []Connector.
	var body struct {
		Data  *[]any `json:"data"`
		Meta  Meta   `json:"meta"`
		Links Links  `json:"links"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return Page{}, decodeErr(req.Op(), resp, err)
	}
	if body.Data == nil {
		return Page{}, &platform.APIError{Platform: platformName, Op: req.Op(), Status: resp.Status,
			Kind: platform.KindTransient, Message: "response has no data list"}
	}
	data, err := connectors(*body.Data)
	if err != nil {
		return Page{}, decodeErr(req.Op(), resp, err)
	}
	c.vars.remember(data)
	return Page{Data: data, Meta: body.Meta, Links: body.Links}, nil
}

// connectors are a page's items as []Connector would have decoded them: a
// null is a nil Connector, anything but an object a type error.
func connectors(items []any) ([]Connector, error) {
	out := make([]Connector, len(items))
	for i, it := range items {
		switch v := it.(type) {
		case map[string]any:
			out[i] = v
		case nil:
		default:
			kind := "array"
			switch v.(type) {
			case string:
				kind = "string"
			case float64:
				kind = "number"
			case bool:
				kind = "bool"
			}
			return nil, &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[Connector](), Field: "data"}
		}
	}
	return out, nil
}

// ListAllConnectors fetches every page at MaxPerPage (opts.Page and
// opts.PerPage are ignored): page 1 first, then the rest in parallel up to
// meta.last_page. Should the list change while it is read (meta.total
// moves, or fewer distinct connectors than the total come back), it is
// read again, up to twice more, because a missed connector would look
// absent and could be created a second time.
func (c *Client) ListAllConnectors(ctx context.Context, opts ListOptions) ([]Connector, error) {
	opts.PerPage = MaxPerPage
	var lastErr error
	for try := 0; try < 3; try++ {
		all, consistent, err := c.listOnce(ctx, opts)
		if err != nil {
			return nil, err
		}
		if consistent {
			return all, nil
		}
		lastErr = errors.New("the connector list changed while it was being read (3 tries)")
	}
	return nil, lastErr
}

func (c *Client) listOnce(ctx context.Context, opts ListOptions) ([]Connector, bool, error) {
	opts.Page = 1
	first, err := c.ListConnectors(ctx, opts)
	if err != nil {
		return nil, false, err
	}
	if m := first.Meta; m.Present && m.LastPage > maxPages && m.Total > maxPages*opts.PerPage {
		// Reading maxPages pages would only end in "inconsistent": say why
		// now, before thousands of requests.
		return nil, false, fmt.Errorf("the connector list has %d pages (%d connectors), more than the %d pages syncd reads; nothing is planned from part of a list",
			m.LastPage, m.Total, maxPages)
	}
	pages := []Page{first}
	switch {
	case first.Meta.Present && first.Meta.LastPage > 1:
		last := min(first.Meta.LastPage, maxPages)
		rest := make([]Page, last-1)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(c.concurrency)
		for p := 2; p <= last; p++ {
			g.Go(func() error {
				o := opts
				o.Page = p
				pg, err := c.ListConnectors(gctx, o)
				rest[p-2] = pg
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, false, err
		}
		pages = append(pages, rest...)
	case !first.Meta.Present:
		// No meta: follow links.next, one page at a time.
		for p := 2; first.Links.Next != nil && len(pages[len(pages)-1].Data) > 0 && p <= maxPages; p++ {
			o := opts
			o.Page = p
			pg, err := c.ListConnectors(ctx, o)
			if err != nil {
				return nil, false, err
			}
			pages = append(pages, pg)
			if pg.Links.Next == nil {
				break
			}
		}
		if last := pages[len(pages)-1]; len(pages) >= maxPages && last.Links.Next != nil && len(last.Data) > 0 {
			// Cut at maxPages, the rest would look absent, and be created
			// again.
			return nil, false, fmt.Errorf("the connector list goes on past the %d pages syncd reads (its next links never end); nothing is planned from part of a list", maxPages)
		}
	}
	seen := map[string]bool{}
	var all []Connector
	consistent := true
	for _, pg := range pages {
		if first.Meta.Present && pg.Meta.Present && pg.Meta.Total != first.Meta.Total {
			consistent = false
		}
		for _, conn := range pg.Data {
			id := IDString(conn["id"])
			if id != "" && seen[id] {
				continue
			}
			seen[id] = true
			all = append(all, conn)
		}
	}
	if first.Meta.Present && first.Meta.Total > 0 && len(all) < first.Meta.Total {
		consistent = false
	}
	return all, consistent, nil
}

func dataOf(op string, resp *transport.Response) (Connector, error) {
	var body struct {
		Data Connector `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return nil, decodeErr(op, resp, err)
	}
	if body.Data != nil {
		return body.Data, nil
	}
	// Tolerate a bare object.
	var bare Connector
	if json.Unmarshal(resp.Body, &bare) == nil && bare["id"] != nil {
		return bare, nil
	}
	return nil, &platform.APIError{Platform: platformName, Op: op, Status: resp.Status,
		Kind: platform.KindTransient, Message: "response has no data object"}
}

// CreateConnector posts fields (variables as a list) and returns the new
// connector. Sent once; both 200 and 201 are success.
func (c *Client) CreateConnector(ctx context.Context, fields map[string]any) (Connector, error) {
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("patchworks: encode connector: %w", err)
	}
	req := transport.Request{Method: http.MethodPost, Path: "/connectors", Body: b, ContentType: "application/json"}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	conn, err := dataOf(req.Op(), resp)
	if err != nil {
		// The create took; only its answer is unreadable.
		var ae *platform.APIError
		if errors.As(err, &ae) {
			ae.Ambiguous = true
		}
		return nil, err
	}
	c.vars.remember([]Connector{conn})
	return conn, nil
}

// GetConnector reads one connector with the given includes.
func (c *Client) GetConnector(ctx context.Context, id string, include []string) (Connector, error) {
	q := url.Values{}
	if len(include) > 0 {
		q.Set("include", strings.Join(include, ","))
	}
	req := transport.Request{Method: http.MethodGet, Path: connectorPath(id), Query: q}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	conn, err := dataOf(req.Op(), resp)
	if err == nil {
		c.vars.remember([]Connector{conn})
	}
	return conn, err
}

// UpdateConnector puts fields and returns the connector as answered (nil
// when the server answers without one).
func (c *Client) UpdateConnector(ctx context.Context, id string, fields map[string]any) (Connector, error) {
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("patchworks: encode connector %s: %w", id, err)
	}
	req := transport.Request{Method: http.MethodPut, Path: connectorPath(id), Body: b, ContentType: "application/json"}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	conn, derr := dataOf(req.Op(), resp)
	if derr != nil {
		return nil, nil // the update took; the answer's shape is not our concern
	}
	c.vars.remember([]Connector{conn})
	return conn, nil
}

// DeleteConnector deletes a connector; a 404 comes back as KindNotFound
// (Provider.Delete treats it as success). A connector used by a process
// flow is refused with KindConflict.
func (c *Client) DeleteConnector(ctx context.Context, id string) error {
	_, err := c.do(ctx, transport.Request{Method: http.MethodDelete, Path: connectorPath(id)})
	return err
}

// TestConnector asks Patchworks to try the connector's credentials; nil
// means they work. Sent once (a POST).
func (c *Client) TestConnector(ctx context.Context, id string) error {
	_, err := c.do(ctx, transport.Request{Method: http.MethodPost, Path: connectorPath(id) + "/test"})
	return err
}

// IDString renders a connector id (a JSON number or string) as text; ""
// when absent.
func IDString(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// varIDs remembers variable ids per connector and key from every read, so
// that an update can name the variables it changes (the update endpoint
// takes variables.*.id; create does not). A connector has a few variables:
// a list per connector costs a fraction of a map per connector, which a
// large estate keeps for the whole run.
type varIDs struct {
	mu sync.Mutex
	m  map[string][]varID
}

type varID struct {
	key string
	id  any
}

func (v *varIDs) remember(conns []Connector) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, conn := range conns {
		id := IDString(conn["id"])
		list, ok := conn["variables"].([]any)
		if id == "" || !ok {
			continue
		}
		var ids []varID
		for _, x := range list {
			if m, ok := x.(map[string]any); ok {
				if k, ok := m["key"].(string); ok && m["id"] != nil {
					ids = append(ids, varID{k, m["id"]})
				}
			}
		}
		v.m[id] = ids
	}
}

// get returns the id of connector's variable key; of a key listed twice,
// the last one read.
func (v *varIDs) get(connector, key string) (any, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ids := v.m[connector]
	for i := len(ids) - 1; i >= 0; i-- {
		if ids[i].key == key {
			return ids[i].id, true
		}
	}
	return nil, false
}
