// Package platform is the contract between syncd's core and each platform
// (Make in platform/make, Patchworks in platform/patchworks).
//
// A Provider reads a platform's live state and writes desired state to it.
// Reads have no side effects. Writes say on each method whether they are safe
// to repeat; the one that is not (Create) is guarded by the caller with an
// intent journal and a natural-key lookup. Only a clean 404 means an object is
// gone: every other failure is an error and never makes an object look
// deleted.
package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/syncd/syncd/internal/syncd"
)

// Want names one remote object the engine wants observed.
type Want struct {
	// Desired is the manifest's resource; nil for an inventory object whose
	// manifest is gone (a delete candidate), which is then read by RemoteID.
	Desired *syncd.Desired
	// RemoteID is the inventory binding or the manifest's externalId; ""
	// when only the natural key can find the object.
	RemoteID string
}

// Snapshot is what Observe saw.
type Snapshot struct {
	// Objects are the live objects the wants matched, with detail fields
	// (Make sections and common the manifest declares) filled in, plus every
	// listed object in scope with its summary fields, so that the planner can
	// match natural keys and detect ambiguity. Sorted by RemoteID.
	Objects []syncd.Live
	// Gone lists RemoteIDs that were asked for and answered a clean 404.
	Gone []string
	// Unreadable holds the wanted resources whose live state could not be
	// read, with why (e.g. a Make app whose connection list answers 404).
	// The planner plans each as an error, never as a create.
	Unreadable map[syncd.Key]string
}

// Provider is one platform's client.
type Provider interface {
	Kind() syncd.Kind

	// Observe fetches the live state for wants with the fewest requests:
	// listings first, details only for objects a want matches (by RemoteID
	// or natural key). Read-only.
	Observe(ctx context.Context, wants []Want) (Snapshot, error)

	// Lookup lists the live objects whose natural key equals d's. Read-only.
	// Used to resolve a create whose outcome is unknown.
	Lookup(ctx context.Context, d *syncd.Desired) ([]syncd.Live, error)

	// Create makes the object d describes with every field d declares and
	// returns its remote id. NOT safe to repeat blindly: after an ambiguous
	// failure the object may exist, so the caller must Lookup first. The
	// client itself never retries a create without such a lookup.
	Create(ctx context.Context, d *syncd.Desired) (remoteID string, err error)

	// Update writes the fields named by paths (JSON pointers from the plan;
	// the client writes each top-level group they fall in) of remoteID to
	// d's values. Safe to repeat.
	Update(ctx context.Context, remoteID string, d *syncd.Desired, paths []string) error

	// Delete removes remoteID. Safe to repeat: an object already gone (404)
	// is success.
	Delete(ctx context.Context, remoteID string) error

	// ListAll reads every object in scope with every field (Make: all six
	// sections and common of each connection of app scope; Patchworks: every
	// connector with variables; scope is ignored). Read-only. Used by import.
	ListAll(ctx context.Context, scope string) ([]syncd.Live, error)

	// Stats returns the cumulative request counts of this client.
	Stats() Stats
}

// Preflighter is implemented by providers that can check, with one cheap
// authenticated read, that their base URL answers like the platform and
// that the token is accepted. The engine runs it before planning, so that
// a misconfiguration fails the run instead of planning every object as a
// create.
type Preflighter interface {
	Preflight(ctx context.Context) error
}

// PreflightError is a failed preflight: what was asked, what answered,
// and what the user most likely has to fix.
type PreflightError struct {
	Platform string
	URL      string // the full URL requested (no query, no credentials)
	Status   int    // 0 when no response arrived
	Problem  string // what was wrong with the answer
	Fix      string // the likely fix, naming the setting
}

func (e *PreflightError) Error() string {
	s := fmt.Sprintf("%s: preflight GET %s", e.Platform, e.URL)
	if e.Status != 0 {
		s += fmt.Sprintf(" answered HTTP %d", e.Status)
	}
	s += ": " + e.Problem
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// Stats are a client's cumulative request counts.
type Stats struct {
	Platform string        // "make" or "patchworks"
	ByStatus map[int]int64 // HTTP status -> count; 0 for network errors
}

// Total requests sent.
func (s Stats) Total() int64 {
	var n int64
	for _, c := range s.ByStatus {
		n += c
	}
	return n
}

// Sub returns the requests made since an earlier reading.
func (s Stats) Sub(earlier Stats) Stats {
	out := Stats{Platform: s.Platform, ByStatus: map[int]int64{}}
	for code, c := range s.ByStatus {
		if d := c - earlier.ByStatus[code]; d != 0 {
			out.ByStatus[code] = d
		}
	}
	return out
}

// ErrorKind classifies a failed request. Each client maps HTTP status to a
// kind in exactly one place.
type ErrorKind int

const (
	KindTransient    ErrorKind = iota // 5xx, network error, timeout: safe to retry an idempotent call
	KindNotFound                      // clean 404: the object is gone
	KindUnauthorized                  // 401
	KindForbidden                     // 403
	KindRateLimited                   // 429
	KindInvalid                       // 400/422: the server rejected the input
	KindConflict                      // 409 or a refusal such as an in-use or locked object
)

func (k ErrorKind) String() string {
	switch k {
	case KindNotFound:
		return "not found"
	case KindUnauthorized:
		return "unauthorized"
	case KindForbidden:
		return "forbidden"
	case KindRateLimited:
		return "rate limited"
	case KindInvalid:
		return "invalid"
	case KindConflict:
		return "conflict"
	}
	return "transient"
}

// APIError is a classified failure of one request. Message is the server's
// own text (never a request body, so never a secret we sent).
type APIError struct {
	Platform   string
	Op         string // e.g. "GET /sdk/apps/connections/x"
	Status     int    // 0 when no response arrived
	Kind       ErrorKind
	Message    string
	Fields     map[string][]string // Laravel's per-field errors
	RetryAfter time.Duration
	// Ambiguous is true when the request may have been applied although no
	// success was seen (timeout, reset, 5xx after sending).
	Ambiguous bool
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: %s: %s", e.Platform, e.Op, e.Kind)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// IsNotFound reports whether err is a clean 404.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Kind == KindNotFound
}

// IsAmbiguous reports whether a write that failed with err may have happened.
func IsAmbiguous(err error) bool {
	var e *APIError
	if errors.As(err, &e) {
		return e.Ambiguous
	}
	// A cancelled or timed-out context after sending is ambiguous too.
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// Kind returns err's classification, KindTransient when unclassified.
func KindOf(err error) ErrorKind {
	var e *APIError
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindTransient
}
