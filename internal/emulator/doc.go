// Package emulator serves Make's Web API v2 "SDK Apps > Connections" under
// /api/v2 and Patchworks' API v1 "Connectors" under /api/v1 from memory,
// on one http.Handler, faithful to ../shared/seeds and API-NOTES (every
// behaviour and its source, or the word assumed, is in FIDELITY.md): Make
// knows only the apps it was given (Options.MakeApps, a seed, the control
// API) and answers 404 for any other, names connections X, X2, X3… (never
// reused), fills a new connection from templates (api and parameters, and
// common for OAuth types), deletes asynchronously (a
// deleted connection still shows in the next Knobs.DeleteLag lists of its
// app; GET then answers 404), stores sections as raw JSONC text and returns
// it verbatim as application/jsonc (a section never written reads as [] or
// {}), keeps common data as a JSON object locked once its app is approved,
// and lists the apps it knows (not marked absent) on GET /sdk/apps as
// {"apps": [{name, label, version}]} (syncd's preflight; shape assumed);
// Patchworks assigns integer ids, answers a create 200, keeps only the
// fields of its create or update rules (certificate_id, session_id and
// platform_app_key are create-only), pages Laravel-style (page, per_page
// 1..100, default DefaultPerPage), accepts only the documented filters,
// sorts by name, adds variables only with include=variables, routes no
// PATCH or HEAD, and returns secret variable values as null. Both
// answer with their vendor's error shapes for 400/401/403/404/405/422/429;
// like Laravel, Patchworks answers a 401 or 422 with a 302 redirect to an
// HTML page unless the request's Accept header names JSON.
// Knobs add latency, 5xx, 5xx after a carried-out write, hangs, random 429s
// and a per-platform rate limit (429 with Retry-After, or without with
// no_retry_after): a token bucket, or with rate_window fixed windows as
// Laravel counts; rate_headers sends X-RateLimit-* (none, full or
// laravel, all assumed), drawn from a seeded random source; and the
// behaviours nobody could verify: ignore_fields (writes answered 200 and
// not kept) and variables_put (merge or replace a PUT's variables).
//
// Control endpoints under /_emulator/ are unauthenticated JSON and are never
// delayed, failed, limited or counted: GET healthz; GET requests (counts per
// platform: total, by_status, by_method, by_route); POST requests/reset;
// POST reset (drop all objects, restart names and ids); POST seed (a Seed
// document, answers SeedResult); GET state; GET knobs; POST knobs (partial:
// only the keys given change); GET|PATCH|DELETE make/connections/{name}
// (PATCH keys: label, type, connectedSystemName, sections {name: "raw
// JSONC" or JSON value}, common {...}); PATCH make/apps/{app} ({"approved":
// bool, "absent": bool}; declares the app); GET|PATCH|DELETE patchworks/connectors/{id}
// (PATCH: connector fields, variables upserted by id or key,
// remove_variables [keys], test_error "message"|null, in_use bool). Each
// has a Go method with the same effect for in-process tests. The control
// side shows secret values (GET state): it is a test tool, and the API side
// never returns them.
//
// The seed format (--seed FILE, POST /_emulator/seed):
//
//	{"make": {"apps": {"acme-crm": {"approved": false, "absent": false,
//	    "connections": [{"label": "ACME", "type": "oauth",
//	      "connectedSystemName": null,
//	      "sections": {"api": "{\n  // raw JSONC text\n}", "scope": ["read"]},
//	      "common": {"clientId": "abc"}}]}}},
//	 "patchworks": {"connectors": [{"name": "Shopify",
//	    "authentication_implementation_id": "42", "timezone": "Europe/London",
//	    "date_format": "d/m/Y H:i", "rate_limit_unit": "minute",
//	    "rate_limit_duration": 60, "test_error": "bad credentials", "in_use": false,
//	    "variables": [{"key": "token", "value": "s3cret", "secret": true,
//	      "pivot": {"alias": "t", "configurable": true, "required": true, "advanced": false}}]}]}}
//
// Seeding creates objects as the APIs would: apps in name order, their
// connections and the connectors in list order, with the same name and id
// counters. A seeded app exists ("absent": true makes it answer 404
// again); an app named nowhere answers 404 to list and create, as in Make.
//
// Assumptions, shared with the clients (API-NOTES, FIDELITY.md):
// RateLimitUnits, DefaultPerPage, that a PUT's variables are upserted and
// unlisted ones kept (Knobs.VariablesPut), that the write-only session_id,
// platform_app_key and type are not
// returned, that a connector in use answers DELETE with 409, and that a
// failing test answers 422 {"message": ...}. The package imports only the
// standard library so that it checks the wire format independently of
// syncd's own client types.
package emulator
