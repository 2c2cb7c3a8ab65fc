package search

import (
	"path"
	"slices"
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
	if len(q.Servers) == 0 && len(q.Tags) == 0 && !q.ReadOnly && len(q.Allow) == 0 && len(q.Deny) == 0 {
		return nil
	}
	return func(d *docInfo) bool {
		t := d.tool
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
}
