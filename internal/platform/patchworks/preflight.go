package patchworks

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
)

const fixURL = "SYNCD_PATCHWORKS_URL must be the Patchworks Core API host, the part before /api/v1 (e.g. https://core.wearepatchworks.com)"

var _ platform.Preflighter = (*Client)(nil)

// Preflight checks with one GET of a one-item connector page that the base
// URL answers like the Patchworks API and that the key is accepted.
func (c *Client) Preflight(ctx context.Context) error {
	req := transport.Request{Method: http.MethodGet, Path: "/connectors", Query: url.Values{"per_page": {"1"}}}
	resp := c.t.Do(ctx, req)
	e := &platform.PreflightError{Platform: platformName, URL: c.t.BaseURL() + "/connectors", Status: resp.Status}
	switch s := resp.Status; {
	case s == 0:
		if err := ctx.Err(); err != nil {
			return err
		}
		e.Problem = "no answer"
		if resp.Err != nil {
			e.Problem += ": " + resp.Err.Error()
		}
		e.Fix = "check SYNCD_PATCHWORKS_URL and that the host is reachable"
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Problem = "the API key was rejected"
		e.Fix = "check SYNCD_PATCHWORKS_TOKEN: a Patchworks API key"
	case s == http.StatusTooManyRequests || s >= 500:
		e.Problem = "the API is not answering normally"
		e.Fix = "retry later"
	case s >= 300 && s < 400:
		e.Problem, _, _ = resp.Redirected(req.Op())
		e.Fix = fixURL
	case s >= 200 && s < 300:
		var body struct {
			Data *[]json.RawMessage `json:"data"`
		}
		if json.Unmarshal(resp.Body, &body) == nil && body.Data != nil {
			return nil
		}
		e.Problem = "the answer is not a Patchworks connector list"
		e.Fix = fixURL
	default:
		e.Problem = "this does not answer like the Patchworks API"
		e.Fix = fixURL
	}
	return e
}
