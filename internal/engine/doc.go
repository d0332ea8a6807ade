// Package engine wires syncd's stages — desired (manifests), observe (live
// state), planner (diff) — into one reconcile step that the CLI and the
// daemon share. It holds no policy of its own: it decides which objects to
// read for which resources, calls the providers in parallel, and hands
// everything to the pure planner.
package engine
