package planner

import "github.com/syncd/syncd/internal/syncd"

// DesiredHash is a keyed hash of everything in d that decides what would be
// written: the spec, the raw $file text of sections (so a comment-only edit
// counts), the externalId and the policy. A saved plan is refused for a
// resource whose DesiredHash moved. Secrets are inside the hash, which is
// keyed, so it reveals nothing about them.
func DesiredHash(h syncd.Hasher, d *syncd.Desired) string {
	if d == nil {
		return ""
	}
	raw := d.RawSections
	if len(raw) == 0 {
		raw = nil
	}
	ignore := d.Policy.Ignore
	if len(ignore) == 0 {
		ignore = nil
	}
	return h.Hash(map[string]any{
		"spec":        d.Spec,
		"rawSections": raw,
		"externalId":  d.ExternalID,
		"policy": map[string]any{
			"mode":    string(d.Policy.Mode),
			"protect": d.Policy.Protect,
			"ignore":  ignore,
		},
	})
}

// LiveFingerprint is a keyed hash of the live object as observed, "" for
// none. A saved plan is refused for an object whose fingerprint moved.
func LiveFingerprint(h syncd.Hasher, l *syncd.Live) string {
	if l == nil {
		return ""
	}
	return h.Hash(l.Spec)
}
