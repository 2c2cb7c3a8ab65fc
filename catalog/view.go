package catalog

import (
	"encoding/json"
	"fmt"
)

// View is a snapshot as one reader sees it: tools its filter rejects do not
// exist in the view — Get does not find them, Tools leaves them out, and
// Validate reports them as unknown, exactly as for a name no upstream has.
// Surfaces never filter tools themselves; they read a View built from the
// caller's policy (weft.Orchestrator.View). A View is cheap (no copy of the
// snapshot) and safe for concurrent use.
type View struct {
	snap  *Snapshot
	allow func(*Tool) bool
}

// View returns s seen through allow (nil: every tool is visible).
func (s *Snapshot) View(allow func(*Tool) bool) *View {
	return &View{snap: s, allow: allow}
}

// Snapshot is the whole, unfiltered snapshot under the view. Use it only for
// what must not depend on the reader (names that stay stable across readers).
func (v *View) Snapshot() *Snapshot { return v.snap }

// Version is the underlying snapshot's version.
func (v *View) Version() string { return v.snap.Version() }

// Filtered reports whether the view may hide tools.
func (v *View) Filtered() bool { return v.allow != nil }

// Allows reports whether t is visible in the view.
func (v *View) Allows(t *Tool) bool { return v.allow == nil || v.allow(t) }

// Get returns the visible tool with the given catalog name.
func (v *View) Get(name string) (*Tool, bool) {
	t, ok := v.snap.Get(name)
	if !ok || !v.Allows(t) {
		return nil, false
	}
	return t, true
}

// Tools returns the visible tools in catalog order. The tools are shared
// with the snapshot: callers must not modify them.
func (v *View) Tools() []*Tool {
	all := v.snap.Tools()
	out := make([]*Tool, 0, len(all))
	for i := range all {
		if v.Allows(&all[i]) {
			out = append(out, &all[i])
		}
	}
	return out
}

// Len is the number of visible tools.
func (v *View) Len() int {
	if v.allow == nil {
		return v.snap.Len()
	}
	n := 0
	all := v.snap.Tools()
	for i := range all {
		if v.allow(&all[i]) {
			n++
		}
	}
	return n
}

// Validate checks args against the input schema of the visible tool name;
// a hidden tool is reported exactly like an unknown one.
func (v *View) Validate(name string, args json.RawMessage) error {
	if _, ok := v.Get(name); !ok {
		return fmt.Errorf("unknown tool %q", name)
	}
	return v.snap.Validate(name, args)
}
