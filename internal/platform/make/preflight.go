package make

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
)

// preflightPath lists the organisation's SDK apps: the cheapest read that
// needs the same token and scope (sdk-apps:read) as everything syncd does,
// and whose answer ({"apps": [...]}) no other server gives by accident.
const preflightPath = "/sdk/apps"

const fixURL = "SYNCD_MAKE_URL must be Make's API base including /api/v2 (e.g. https://eu1.make.com/api/v2), or set SYNCD_MAKE_ZONE instead"

var _ platform.Preflighter = (*Client)(nil)

// Preflight checks with one GET that the base URL answers like Make's API
// and that the token is accepted.
func (c *Client) Preflight(ctx context.Context) error {
	req := transport.Request{Method: http.MethodGet, Path: preflightPath}
	resp := c.t.Do(ctx, req)
	e := &platform.PreflightError{Platform: platformName, URL: c.t.BaseURL() + preflightPath, Status: resp.Status}
	switch s := resp.Status; {
	case s == 0:
		if err := ctx.Err(); err != nil {
			return err
		}
		e.Problem = "no answer"
		if resp.Err != nil {
			e.Problem += ": " + resp.Err.Error()
		}
		e.Fix = "check SYNCD_MAKE_URL (or SYNCD_MAKE_ZONE) and that the host is reachable"
	case s == http.StatusUnauthorized:
		e.Problem = "the token was rejected"
		e.Fix = "check SYNCD_MAKE_TOKEN: a Make API token of this zone's organisation"
	case s == http.StatusForbidden:
		e.Problem = "the token may not read SDK apps"
		e.Fix = "give the token in SYNCD_MAKE_TOKEN the sdk-apps:read and sdk-apps:write scopes"
	case s == http.StatusTooManyRequests || s >= 500:
		e.Problem = "the API is not answering normally"
		e.Fix = "retry later"
	case s >= 300 && s < 400:
		e.Problem, _, _ = resp.Redirected(req.Op())
		e.Fix = fixURL
	case s >= 200 && s < 300:
		var body struct {
			Apps *[]json.RawMessage `json:"apps"`
		}
		if json.Unmarshal(resp.Body, &body) == nil && body.Apps != nil {
			return nil
		}
		e.Problem = "the answer is not Make's list of SDK apps"
		e.Fix = fixURL
	default:
		e.Problem = "this does not answer like Make's API"
		e.Fix = fixURL
	}
	return e
}
