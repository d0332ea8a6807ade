package make

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tailscale/hujson"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/syncd"
)

const platformName = "make"

// DefaultRequestsPerMinute is the Core plan's organisation limit, the
// smallest Make sells, so the default never trips a 429 on any plan.
const DefaultRequestsPerMinute = 60

// Sections are the connection sections Make stores, in the API's order.
var Sections = []string{"api", "parameters", "scopes", "scope", "install", "installSpec"}

// Types are the connection types Make accepts.
var Types = []string{"oauth", "oauth-refresh", "oauth-resowncre", "oauth-clicre", "oauth-1", "apikey", "basic", "other"}

var zones = map[string]string{
	"eu1":         "https://eu1.make.com/api/v2",
	"eu2":         "https://eu2.make.com/api/v2",
	"us1":         "https://us1.make.com/api/v2",
	"us2":         "https://us2.make.com/api/v2",
	"eu1.celonis": "https://eu1.make.celonis.com/api/v2",
	"us1.celonis": "https://us1.make.celonis.com/api/v2",
}

// BaseURLForZone returns the API base URL of a zone name (eu1, eu2, us1,
// us2, eu1.celonis, us1.celonis).
func BaseURLForZone(zone string) (string, error) {
	if u, ok := zones[strings.ToLower(strings.TrimSpace(zone))]; ok {
		return u, nil
	}
	names := make([]string, 0, len(zones))
	for z := range zones {
		names = append(names, z)
	}
	slices.Sort(names)
	return "", fmt.Errorf("make: unknown zone %q: want one of %s", zone, strings.Join(names, ", "))
}

// Config configures a Client. BaseURL wins over Zone; one is required.
type Config struct {
	BaseURL           string // including /api/v2
	Zone              string
	Token             string
	RequestsPerMinute int     // 0 means DefaultRequestsPerMinute
	Burst             int     // unused: the transport bursts up to the minute's allowance
	QuotaShare        float64 // share of RequestsPerMinute syncd may use; 0 means all of it
	MaxConcurrency    int     // 0 means transport.DefaultMaxConcurrency
	Timeout           time.Duration
	Retry             transport.Retry // zero fields take transport's defaults
	HTTPClient        *http.Client
	Logger            *slog.Logger
}

// Client talks to Make's SDK Apps > Connections API. Its methods are one
// endpoint each; the Provider methods (provider.go) build on them.
type Client struct {
	t           *transport.Client
	concurrency int
	log         *slog.Logger
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	base := cfg.BaseURL
	if base == "" {
		if cfg.Zone == "" {
			return nil, errors.New("make: a base URL or a zone is required")
		}
		var err error
		if base, err = BaseURLForZone(cfg.Zone); err != nil {
			return nil, err
		}
	}
	if cfg.Token == "" {
		return nil, errors.New("make: a token is required")
	}
	rpm := cfg.RequestsPerMinute
	if rpm <= 0 {
		rpm = DefaultRequestsPerMinute
	}
	conc := cfg.MaxConcurrency
	if conc <= 0 {
		conc = transport.DefaultMaxConcurrency
	}
	t, err := transport.New(transport.Config{
		Platform:          platformName,
		BaseURL:           base,
		Authorization:     "Token " + cfg.Token,
		Header:            http.Header{"Accept": {"*/*"}},
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
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{t: t, concurrency: conc, log: log}, nil
}

// Transport is the client's HTTP layer (its pacing: ETA, Allowance).
func (c *Client) Transport() *transport.Client { return c.t }

// Stats returns the cumulative request counts.
func (c *Client) Stats() platform.Stats { return c.t.Stats() }

// Connection is a connection as the list, get, create and update endpoints
// return it.
type Connection struct {
	Name  string
	Label string
	Type  string
	// ConnectedSystemName is only returned by GetConnection.
	ConnectedSystemName *string
	// AppVersion is "appVersion" (a number) or "app_version" (a string),
	// whichever came, as text; informational only.
	AppVersion  string
	AliasTo     *string
	RedirectURI string
}

func (c *Connection) UnmarshalJSON(b []byte) error {
	var w connWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = w.conn()
	return nil
}

// connWire is a connection as Make sends it. A list decodes into
// []connWire, not []Connection, so that each item is read once instead of
// being scanned again by an UnmarshalJSON of its own.
type connWire struct {
	Name                string          `json:"name"`
	Label               string          `json:"label"`
	Type                string          `json:"type"`
	ConnectedSystemName *string         `json:"connectedSystemName"`
	AppVersion          json.RawMessage `json:"appVersion"`
	AppVersion2         json.RawMessage `json:"app_version"`
	AliasTo             *string         `json:"alias_to"`
	RedirectURI         string          `json:"redirectUri"`
}

func (w *connWire) conn() Connection {
	c := Connection{Name: w.Name, Label: w.Label, Type: w.Type, ConnectedSystemName: w.ConnectedSystemName,
		AliasTo: w.AliasTo, RedirectURI: w.RedirectURI}
	for _, v := range []json.RawMessage{w.AppVersion, w.AppVersion2} {
		if s := versionText(v); s != "" {
			c.AppVersion = s
			break
		}
	}
	return c
}

// versionText accepts a number or a string and never fails: the version is
// not something syncd relies on. A string without escapes, the usual
// answer, is read as it is.
func versionText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && utf8.Valid(raw) && bytes.IndexByte(raw[1:n-1], '\\') < 0 && bytes.IndexByte(raw[1:n-1], '"') < 0 {
		return string(raw[1 : n-1])
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func connPath(name string) string { return "/sdk/apps/connections/" + url.PathEscape(name) }
func appPath(app string) string   { return "/sdk/apps/" + url.PathEscape(app) + "/connections" }

// do sends req and classifies the outcome; out, when non-nil, receives the
// JSON body of a success.
func (c *Client) do(ctx context.Context, req transport.Request, out any) (*transport.Response, error) {
	resp := c.t.Do(ctx, req)
	if err := classify(req.Op(), resp); err != nil {
		return resp, err
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			// A write answered 2xx took effect even if its answer is unreadable.
			return resp, &platform.APIError{Platform: platformName, Op: req.Op(), Status: resp.Status,
				Kind: platform.KindTransient, Message: "response is not the expected JSON: " + jsonErrText(err),
				Ambiguous: req.Method != http.MethodGet}
		}
	}
	return resp, nil
}

// jsonErrText keeps the decoder's complaint short and free of the body.
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

// ListConnections lists the connections of app. The list is not paginated.
func (c *Client) ListConnections(ctx context.Context, app string) ([]Connection, error) {
	var body struct {
		AppConnections *[]connWire `json:"appConnections"`
		Connections    *[]connWire `json:"connections"`
	}
	req := transport.Request{Method: http.MethodGet, Path: appPath(app)}
	if _, err := c.do(ctx, req, &body); err != nil {
		return nil, err
	}
	list := body.AppConnections
	if list == nil {
		list = body.Connections
	}
	if list != nil {
		out := make([]Connection, len(*list))
		for i := range *list {
			out[i] = (*list)[i].conn()
		}
		return out, nil
	}
	return nil, &platform.APIError{Platform: platformName, Op: req.Op(), Status: http.StatusOK,
		Kind: platform.KindTransient, Message: "response has neither appConnections nor connections"}
}

type connEnvelope struct {
	AppConnection *Connection `json:"appConnection"`
}

// get returns the enveloped connection. A success without a named one is
// an error; after a write it is ambiguous, since the write took.
func (e connEnvelope) get(op string) (Connection, error) {
	if e.AppConnection == nil || e.AppConnection.Name == "" {
		return Connection{}, &platform.APIError{Platform: platformName, Op: op, Status: http.StatusOK,
			Kind: platform.KindTransient, Message: "response has no named appConnection",
			Ambiguous: !strings.HasPrefix(op, http.MethodGet+" ")}
	}
	return *e.AppConnection, nil
}

// CreateConnection creates a connection; Make names it. Sent once: see
// Provider.Create for what to do after an ambiguous failure.
func (c *Client) CreateConnection(ctx context.Context, app, typ, label string) (Connection, error) {
	b, _ := json.Marshal(map[string]string{"type": typ, "label": label})
	req := transport.Request{Method: http.MethodPost, Path: appPath(app), Body: b, ContentType: "application/json"}
	var env connEnvelope
	if _, err := c.do(ctx, req, &env); err != nil {
		return Connection{}, err
	}
	return env.get(req.Op())
}

// GetConnection reads one connection, connectedSystemName included.
func (c *Client) GetConnection(ctx context.Context, name string) (Connection, error) {
	req := transport.Request{Method: http.MethodGet, Path: connPath(name)}
	var env connEnvelope
	if _, err := c.do(ctx, req, &env); err != nil {
		return Connection{}, err
	}
	return env.get(req.Op())
}

// ConnectionUpdate holds the two mutable fields; nil leaves a field alone.
// ConnectedSystemName is a pointer to a nullable value: set it to a
// pointer to nil to clear the field.
type ConnectionUpdate struct {
	Label               *string
	ConnectedSystemName **string
}

// UpdateConnection patches label and/or connectedSystemName.
func (c *Client) UpdateConnection(ctx context.Context, name string, u ConnectionUpdate) (Connection, error) {
	fields := map[string]any{}
	if u.Label != nil {
		fields["label"] = *u.Label
	}
	if u.ConnectedSystemName != nil {
		fields["connectedSystemName"] = *u.ConnectedSystemName
	}
	b, _ := json.Marshal(fields)
	req := transport.Request{Method: http.MethodPatch, Path: connPath(name), Body: b, ContentType: "application/json"}
	var env connEnvelope
	if _, err := c.do(ctx, req, &env); err != nil {
		return Connection{}, err
	}
	if env.AppConnection == nil {
		// The update took; a reply without the object is not a failure.
		return Connection{Name: name}, nil
	}
	return *env.AppConnection, nil
}

// DeleteConnection deletes a connection. Make may delete asynchronously: a
// list right after can still show it. A 404 is returned as KindNotFound;
// Provider.Delete treats it as success.
func (c *Client) DeleteConnection(ctx context.Context, name string) error {
	_, err := c.do(ctx, transport.Request{Method: http.MethodDelete, Path: connPath(name)}, nil)
	return err
}

func checkSection(section string) error {
	if !slices.Contains(Sections, section) {
		return fmt.Errorf("make: unknown section %q: want one of %s", section, strings.Join(Sections, ", "))
	}
	return nil
}

// GetSection returns a section's stored text verbatim and its parsed
// value. A legacy empty (null) section reads as its empty shape.
func (c *Client) GetSection(ctx context.Context, name, section string) (raw string, value any, err error) {
	body, value, err := c.readSection(ctx, name, section, nil)
	return string(body), value, err
}

// readSection is GetSection for a section expected to be like (the
// manifest's value; nil for none): an answer that is exactly like's value
// gives like itself, without decoding a copy (see syncd.SameJSON), and any
// other shares what it can with like (syncd.ShareDesired).
func (c *Client) readSection(ctx context.Context, name, section string, like any) ([]byte, any, error) {
	if err := checkSection(section); err != nil {
		return nil, nil, err
	}
	req := transport.Request{Method: http.MethodGet, Path: connPath(name) + "/" + section}
	resp, err := c.do(ctx, req, nil)
	if err != nil {
		return nil, nil, err
	}
	if like != nil && syncd.SameJSON(resp.Body, like) {
		return resp.Body, like, nil
	}
	value, err := ParseJSONC(resp.Body)
	if err != nil {
		return nil, nil, &platform.APIError{Platform: platformName, Op: req.Op(), Status: resp.Status,
			Kind: platform.KindTransient, Message: "section is not valid JSONC: " + err.Error()}
	}
	if value == nil {
		value = EmptySection(section)
	}
	return resp.Body, syncd.ShareDesired(value, like), nil
}

// EmptySection is the value a legacy null section stands for.
func EmptySection(section string) any {
	switch section {
	case "parameters", "scope", "installSpec":
		return []any{}
	}
	return map[string]any{}
}

// ParseJSONC parses JSONC (comments, trailing commas) into a canonical
// JSON value. Empty text is null.
func ParseJSONC(text []byte) (any, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, nil
	}
	// Most bodies are plain JSON: decoded directly they give the same value
	// without the JSONC parser's copy and tree. Anything else (comments,
	// trailing commas) takes the full path and its errors, and so does
	// text that is not UTF-8, which stays the JSONC parser's to judge.
	if utf8.Valid(text) {
		var v any
		if json.Unmarshal(text, &v) == nil {
			return v, nil
		}
	}
	std, err := hujson.Standardize(append([]byte(nil), text...))
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(std, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// SetSection stores raw (JSONC text) as a section, verbatim.
func (c *Client) SetSection(ctx context.Context, name, section, raw string) error {
	if err := checkSection(section); err != nil {
		return err
	}
	req := transport.Request{Method: http.MethodPut, Path: connPath(name) + "/" + section,
		Body: []byte(raw), ContentType: "application/jsonc"}
	_, err := c.do(ctx, req, nil)
	return err
}

// GetCommon returns a connection's common data; null reads as {}.
func (c *Client) GetCommon(ctx context.Context, name string) (map[string]any, error) {
	return c.readCommon(ctx, name, nil)
}

// readCommon is GetCommon for common data expected to be like (the
// manifest's; nil for none), as readSection.
func (c *Client) readCommon(ctx context.Context, name string, like map[string]any) (map[string]any, error) {
	req := transport.Request{Method: http.MethodGet, Path: connPath(name) + "/common"}
	resp, err := c.do(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	if like != nil && syncd.SameJSON(resp.Body, like) {
		return like, nil
	}
	var v any
	if len(bytes.TrimSpace(resp.Body)) > 0 {
		if err := json.Unmarshal(resp.Body, &v); err != nil {
			return nil, &platform.APIError{Platform: platformName, Op: req.Op(), Status: resp.Status,
				Kind: platform.KindTransient, Message: "common data is not JSON: " + jsonErrText(err)}
		}
	}
	var m map[string]any
	switch v := v.(type) {
	case map[string]any:
		m = v
	case nil:
		m = map[string]any{}
	case []any:
		// PHP encodes an empty map as [].
		if len(v) == 0 {
			m = map[string]any{}
		}
	}
	if m == nil {
		return nil, &platform.APIError{Platform: platformName, Op: req.Op(), Status: resp.Status,
			Kind: platform.KindTransient, Message: "common data is not an object"}
	}
	if like == nil {
		return m, nil
	}
	if shared, ok := syncd.ShareDesired(m, like).(map[string]any); ok {
		return shared, nil
	}
	return m, nil
}

// SetCommon replaces a connection's common data. Once the app is approved
// Make refuses: that comes back as KindConflict and is not retried.
func (c *Client) SetCommon(ctx context.Context, name string, common map[string]any) error {
	if common == nil {
		common = map[string]any{}
	}
	b, err := json.Marshal(common)
	if err != nil {
		return fmt.Errorf("make: encode common data of %s: %w", name, err)
	}
	req := transport.Request{Method: http.MethodPut, Path: connPath(name) + "/common", Body: b, ContentType: "application/json"}
	_, err = c.do(ctx, req, nil)
	return err
}

// Recreate asks Make to recreate a connection and returns the name it
// answers with (the documented answers are {} and {"appConnection": name};
// for {} the name is unchanged).
func (c *Client) Recreate(ctx context.Context, name string) (string, error) {
	req := transport.Request{Method: http.MethodPost, Path: connPath(name) + "/recreate"}
	resp, err := c.do(ctx, req, nil)
	if err != nil {
		return "", err
	}
	var body struct {
		AppConnection json.RawMessage `json:"appConnection"`
	}
	if len(bytes.TrimSpace(resp.Body)) > 0 && json.Unmarshal(resp.Body, &body) == nil {
		var s string
		if json.Unmarshal(body.AppConnection, &s) == nil && s != "" {
			return s, nil
		}
		var conn Connection
		if json.Unmarshal(body.AppConnection, &conn) == nil && conn.Name != "" {
			return conn.Name, nil
		}
	}
	return name, nil
}
