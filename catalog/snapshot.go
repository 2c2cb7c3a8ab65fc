package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Snapshot is an immutable, versioned set of tools in a deterministic order
// (by catalog name). It is safe for concurrent use.
type Snapshot struct {
	tools   []Tool
	byName  map[string]int
	version string

	validators sync.Map // name -> *validatorEntry (compiled lazily)
}

// NewSnapshot names, de-duplicates and orders tools. Each input tool's Server
// and Original must be set. Names are assigned with MakeName; if two tools end
// up with the same name, the one whose (server, original) sorts first keeps it
// and the others get a deterministic hash suffix. The same input (in any
// order) always yields the same names and the same Version.
//
// The common case — no two distinct tools share a name — takes one sort by
// (name, server, original, input position), which also brings exact
// duplicates together (the first in input order is kept). Only when names
// collide is the naming redone in (server, original) order with suffixes
// (resolveCollisions); both paths give the same result for the same input.
func NewSnapshot(tools []Tool) *Snapshot {
	// Names and content hashes in input order (sequential reads; the
	// hash does not depend on the name).
	keys := make([]nameKey, len(tools))
	hashes := make([]string, len(tools))
	inParallel(len(tools), func(lo, hi int) {
		scratch := make([]byte, 0, 1024)
		for i := lo; i < hi; i++ {
			t := &tools[i]
			keys[i] = nameKey{name: MakeName(t.Server, t.Original), i: int32(i)}
			scratch = appendContentKey(scratch[:0], t)
			hashes[i] = hashKey(scratch)
		}
	})
	keys = sortKeys(keys, func(a, b nameKey) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return compareSource(tools, a.i, b.i)
	})
	kept := keys[:0]
	for _, k := range keys {
		if n := len(kept); n > 0 && kept[n-1].name == k.name {
			p, t := &tools[kept[n-1].i], &tools[k.i]
			if p.Server == t.Server && p.Original == t.Original {
				continue // an exact duplicate later in the input
			}
			return buildSnapshot(tools, hashes, resolveCollisions(tools))
		}
		kept = append(kept, k)
	}
	return buildSnapshot(tools, hashes, kept)
}

// nameKey is a tool's catalog name and its position in NewSnapshot's input.
type nameKey struct {
	name string
	i    int32
}

// compareSource orders input tools by (server, original, input position).
func compareSource(tools []Tool, a, b int32) int {
	ta, tb := &tools[a], &tools[b]
	if c := strings.Compare(ta.Server, tb.Server); c != 0 {
		return c
	}
	if c := strings.Compare(ta.Original, tb.Original); c != 0 {
		return c
	}
	return int(a - b)
}

// resolveCollisions names tools when two distinct tools share a name: in
// (server, original, input position) order, exact duplicates dropped, each
// tool takes its MakeName unless taken, else the first free hash-suffixed
// variant. The result is ordered by name.
func resolveCollisions(tools []Tool) []nameKey {
	order := make([]int32, len(tools))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return compareSource(tools, a, b) })
	keys := make([]nameKey, 0, len(tools))
	taken := make(map[string]bool, len(tools))
	for j, i := range order {
		t := &tools[i]
		if j > 0 {
			if p := &tools[order[j-1]]; p.Server == t.Server && p.Original == t.Original {
				continue
			}
		}
		base := MakeName(t.Server, t.Original)
		name := base
		for n := 0; taken[name]; n++ {
			name = withSuffix(base, t.Server+"\x00"+t.Original+"\x00"+strconv.Itoa(n))
		}
		taken[name] = true
		keys = append(keys, nameKey{name: name, i: i})
	}
	slices.SortFunc(keys, func(a, b nameKey) int { return strings.Compare(a.name, b.name) })
	return keys
}

// buildSnapshot copies the tools keys select (in name order) into a new
// snapshot: names and content hashes (hashes[i] is that of tools[i]) set,
// Tags and Examples cloned (on all cores for large sets, while the name
// index is filled), version derived.
func buildSnapshot(tools []Tool, hashes []string, keys []nameKey) *Snapshot {
	out := make([]Tool, len(keys))
	s := &Snapshot{tools: out, byName: make(map[string]int, len(keys))}
	index := func() {
		for i, k := range keys {
			s.byName[k.name] = i
		}
	}
	var wg sync.WaitGroup
	if len(keys) >= parallelMin {
		wg.Go(index)
	} else {
		index()
	}
	inParallel(len(keys), func(lo, hi int) {
		var ntags, nexamples int
		for _, k := range keys[lo:hi] {
			ntags += len(tools[k.i].Tags)
			nexamples += len(tools[k.i].Examples)
		}
		tags := make([]string, 0, ntags)
		examples := make([]json.RawMessage, 0, nexamples)
		for i := lo; i < hi; i++ {
			t := &out[i]
			*t = tools[keys[i].i]
			t.Name, t.Hash = keys[i].name, hashes[keys[i].i]
			if t.Tags != nil {
				n := len(tags)
				tags = append(tags, t.Tags...)
				t.Tags = tags[n:len(tags):len(tags)]
			}
			if t.Examples != nil {
				n := len(examples)
				examples = append(examples, t.Examples...)
				t.Examples = examples[n:len(examples):len(examples)]
			}
		}
	})
	wg.Wait()

	h := sha256.New()
	buf := make([]byte, 0, 32<<10)
	for i := range out {
		if len(buf) > cap(buf)-2*MaxNameLen-len(out[i].Hash) {
			h.Write(buf)
			buf = buf[:0]
		}
		buf = append(buf, out[i].Name...)
		buf = append(buf, 0)
		buf = append(buf, out[i].Hash...)
		buf = append(buf, 0)
	}
	h.Write(buf)
	s.version = hex.EncodeToString(h.Sum(nil)[:8])
	return s
}

// sortKeys sorts keys by cmp, a total order: large sets as two halves
// sorted concurrently and merged into a new slice, which it returns.
func sortKeys(keys []nameKey, cmp func(a, b nameKey) int) []nameKey {
	if len(keys) < parallelMin || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(keys, cmp)
		return keys
	}
	left, right := keys[:len(keys)/2], keys[len(keys)/2:]
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(left, cmp) })
	slices.SortFunc(right, cmp)
	wg.Wait()
	out := make([]nameKey, 0, len(keys))
	for len(left) > 0 && len(right) > 0 {
		if cmp(left[0], right[0]) <= 0 {
			out = append(out, left[0])
			left = left[1:]
		} else {
			out = append(out, right[0])
			right = right[1:]
		}
	}
	out = append(out, left...)
	return append(out, right...)
}

// parallelMin is the number of tools from which NewSnapshot spreads work
// over all cores.
const parallelMin = 2048

// inParallel calls f on consecutive ranges covering [0, n): one range per
// core when n is large, else [0, n) inline.
func inParallel(n int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < parallelMin || workers < 2 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Go(func() { f(lo, hi) })
	}
	wg.Wait()
}

// Version identifies the snapshot's content: equal versions mean equal tools.
func (s *Snapshot) Version() string { return s.version }

// Len is the number of tools.
func (s *Snapshot) Len() int { return len(s.tools) }

// Tools returns the tools in order. The slice is shared: callers must not modify it.
func (s *Snapshot) Tools() []Tool { return s.tools }

// Get returns the tool with the given catalog name.
func (s *Snapshot) Get(name string) (*Tool, bool) {
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return &s.tools[i], true
}

// Servers returns the distinct server names in sorted order.
func (s *Snapshot) Servers() []string {
	var out []string
	for i := range s.tools {
		out = append(out, s.tools[i].Server)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Changed compares two snapshots by tool hash and returns the names of tools
// that were added or changed in s, and those removed since prev. prev may be nil.
func (s *Snapshot) Changed(prev *Snapshot) (added, removed []string) {
	for i := range s.tools {
		t := &s.tools[i]
		if prev != nil {
			if old, ok := prev.Get(t.Name); ok && old.Hash == t.Hash {
				continue
			}
		}
		added = append(added, t.Name)
	}
	if prev != nil {
		for i := range prev.tools {
			if _, ok := s.byName[prev.tools[i].Name]; !ok {
				removed = append(removed, prev.tools[i].Name)
			}
		}
	}
	return added, removed
}
