package catalog

import (
	"crypto/sha256"
	"encoding/hex"
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
func NewSnapshot(tools []Tool) *Snapshot {
	// Deterministic processing order independent of input order, stable
	// (the input position breaks ties). Indices are sorted, not the
	// tools: a Tool is a large struct to move.
	order := make([]int32, len(tools))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ta, tb := &tools[a], &tools[b]
		if c := strings.Compare(ta.Server, tb.Server); c != 0 {
			return c
		}
		if c := strings.Compare(ta.Original, tb.Original); c != 0 {
			return c
		}
		return int(a - b)
	})
	// Exact duplicates (same server and original name) keep the first.
	in := make([]Tool, 0, len(tools))
	for _, i := range order {
		t := &tools[i]
		if n := len(in); n > 0 && in[n-1].Server == t.Server && in[n-1].Original == t.Original {
			continue
		}
		in = append(in, *t)
	}

	taken := make(map[string]bool, len(in))
	for i := range in {
		t := &in[i]
		t.Tags = slices.Clone(t.Tags)
		t.Examples = slices.Clone(t.Examples)
		name := MakeName(t.Server, t.Original)
		for n := 0; taken[name]; n++ {
			name = withSuffix(MakeName(t.Server, t.Original), t.Server+"\x00"+t.Original+"\x00"+strconv.Itoa(n))
		}
		taken[name] = true
		t.Name = name
	}
	hashAll(in)
	order = order[:len(in)]
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(in[a].Name, in[b].Name) })
	sorted := make([]Tool, len(in))
	for i, j := range order {
		sorted[i] = in[j]
	}
	in = sorted

	s := &Snapshot{tools: in, byName: make(map[string]int, len(in))}
	h := sha256.New()
	for i := range in {
		s.byName[in[i].Name] = i
		h.Write([]byte(in[i].Name))
		h.Write([]byte{0})
		h.Write([]byte(in[i].Hash))
		h.Write([]byte{0})
	}
	s.version = hex.EncodeToString(h.Sum(nil)[:8])
	return s
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

// hashAll sets every tool's content hash, on all cores for large sets.
func hashAll(in []Tool) {
	workers := runtime.GOMAXPROCS(0)
	if len(in) < 2048 || workers < 2 {
		for i := range in {
			in[i].Hash = ContentHash(&in[i])
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (len(in) + workers - 1) / workers
	for lo := 0; lo < len(in); lo += chunk {
		part := in[lo:min(lo+chunk, len(in))]
		wg.Go(func() {
			for i := range part {
				part[i].Hash = ContentHash(&part[i])
			}
		})
	}
	wg.Wait()
}
