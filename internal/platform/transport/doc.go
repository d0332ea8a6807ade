// Package transport is the HTTP layer the platform clients share. It sends
// one request with a per-attempt timeout, paces every attempt (first ones
// too) per platform within the servers' minute windows (a burst up to the
// remaining allowance; a share of the limit; never more than the server's
// X-RateLimit-Remaining before its reset), bounds the requests in
// flight, and retries only idempotent methods (GET, HEAD, PUT, PATCH, DELETE)
// on 429, 5xx and network errors with exponential backoff and full jitter,
// honouring Retry-After. A POST is sent exactly once: whether to try again
// is the caller's decision, because only the caller can look up whether the
// first attempt took effect. Transport does not classify errors (each client
// does that in one place); it returns the final response or the network
// failure together with whether the request had been written, and it counts
// every attempt by status. It never logs or returns request bodies or the
// Authorization header.
package transport
