package search

import (
	"path"
	"slices"

	"github.com/weft-dev/weft/catalog"
)

func checkPattern(p string) error {
	_, err := path.Match(p, "")
	return err
}

func matchAny(pats []string, name string) bool {
	for _, p := range pats {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// filter is a compiled Query filter; nil accepts everything.
type filter func(d *docInfo) bool

// compileFilter returns the filter of q, or nil when q has none.
func compileFilter(q *Query) filter {
	if !q.filtered() {
		return nil
	}
	return func(d *docInfo) bool { return q.Match(d.tool) }
}

func (q *Query) filtered() bool {
	return len(q.Servers) > 0 || len(q.Tags) > 0 || q.ReadOnly || len(q.Allow) > 0 || len(q.Deny) > 0 || q.Visible != nil
}

// Match reports whether t passes q's filters (servers, tags, read-only,
// allow, deny and the caller's Visible policy); the query text is not
// considered.
func (q *Query) Match(t *catalog.Tool) bool {
	if q.Visible != nil && !q.Visible(t) {
		return false
	}
	if len(q.Servers) > 0 && !slices.Contains(q.Servers, t.Server) {
		return false
	}
	if len(q.Tags) > 0 && !slices.ContainsFunc(t.Tags, func(tag string) bool { return slices.Contains(q.Tags, tag) }) {
		return false
	}
	if q.ReadOnly && !t.Annotations.ReadOnly() {
		return false
	}
	if len(q.Allow) > 0 && !matchAny(q.Allow, t.Name) {
		return false
	}
	return !matchAny(q.Deny, t.Name)
}
