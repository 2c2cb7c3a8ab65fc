package catalog

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// randomTools makes n tools drawn from small pools so that names collide
// (sanitizing, long names cut to MaxNameLen, suffixed names), exact
// duplicates occur, and Tags/Examples are nil, empty or set.
func randomTools(r *rand.Rand, n int) []Tool {
	long := strings.Repeat("very_long_name_", 5)
	servers := []string{"", "srv", "x y", "x_y", "x.y", "_x_y_", "读取", long, long + "2", "a"}
	parts := []string{"a", "b", "_", ".", " ", "-", "__", "é", "get_item", long}
	tags := [][]string{nil, {}, {"b", "a"}, {"store"}, {"z", "z"}}
	examples := [][]json.RawMessage{nil, {}, {json.RawMessage(`{"a":1}`)}}
	yes := true
	tools := make([]Tool, n)
	for i := range tools {
		var orig strings.Builder
		for range 1 + r.IntN(4) {
			orig.WriteString(parts[r.IntN(len(parts))])
		}
		t := Tool{
			Server:      servers[r.IntN(len(servers))],
			Original:    orig.String(),
			Description: fmt.Sprint("d", r.IntN(3)),
			Tags:        tags[r.IntN(len(tags))],
			Examples:    examples[r.IntN(len(examples))],
		}
		if r.IntN(2) == 0 {
			t.InputSchema = json.RawMessage(`{"type":"object"}`)
			t.Annotations = &Annotations{ReadOnlyHint: &yes}
		}
		tools[i] = t
	}
	return tools
}

// TestNewSnapshotMatchesReference: the single-sort NewSnapshot (and the
// collision path it falls back to) builds exactly the snapshot the
// previous two-sort implementation built — same tools in the same order
// with the same names, hashes, cloned Tags/Examples (nil stays nil, empty
// stays empty), index and version — for random inputs full of collisions
// and duplicates, for collision-free inputs, and in any input order.
func TestNewSnapshotMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(name string, tools []Tool) {
		t.Helper()
		got, want := NewSnapshot(tools), referenceSnapshot(tools)
		if got.Version() != want.Version() || !reflect.DeepEqual(got.tools, want.tools) || !reflect.DeepEqual(got.byName, want.byName) {
			for i := range min(len(got.tools), len(want.tools)) {
				if !reflect.DeepEqual(got.tools[i], want.tools[i]) {
					t.Fatalf("%s: tool %d differs:\n got  %+v\n want %+v", name, i, got.tools[i], want.tools[i])
				}
			}
			t.Fatalf("%s: snapshots differ: %d tools (version %s), want %d (version %s)", name, got.Len(), got.Version(), want.Len(), want.Version())
		}
		in := map[*string]bool{}
		for i := range tools {
			if len(tools[i].Tags) > 0 {
				in[&tools[i].Tags[0]] = true
			}
		}
		for i := range got.tools {
			if tg := got.tools[i].Tags; len(tg) > 0 && in[&tg[0]] {
				t.Fatalf("%s: tags shared with the input", name)
			}
		}
	}
	collided := 0
	for round := range 200 {
		n := r.IntN(60)
		if round%20 == 0 {
			n = 3000 // the parallel path
		}
		tools := randomTools(r, n)
		if hasCollision(tools) {
			collided++
		}
		check(fmt.Sprint("random ", round), tools)
		r.Shuffle(len(tools), func(i, j int) { tools[i], tools[j] = tools[j], tools[i] })
		check(fmt.Sprint("shuffled ", round), tools)
	}
	if collided < 50 || collided > 190 {
		t.Fatalf("%d of 200 random rounds had name collisions: both paths should be exercised", collided)
	}
	free := benchTools(5000) // no collisions: the fast path
	free = append(free, free[10], free[4000])
	free[len(free)-1].Description = "a later duplicate"
	check("collision-free", free)
	check("empty", nil)
}

// hasCollision reports whether two distinct tools get the same MakeName.
func hasCollision(tools []Tool) bool {
	by := map[string][2]string{}
	for _, t := range tools {
		n := MakeName(t.Server, t.Original)
		if p, ok := by[n]; ok && p != [2]string{t.Server, t.Original} {
			return true
		}
		by[n] = [2]string{t.Server, t.Original}
	}
	return false
}

// TestSanitizeMatchesReference: the allocation-free path for names that
// need no replacement gives what the rune-by-rune path gives.
func TestSanitizeMatchesReference(t *testing.T) {
	for _, s := range []string{"", "_", "__", "a", "_a_", "a__b", "-a-", "a.b", "a..b", "_.a", "é", "a é b", "get_item_7", "___x___", "\xff", "a\x00b"} {
		if got, want := Sanitize(s), referenceSanitize(s); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", s, got, want)
		}
		for _, server := range []string{"", "s", "x y", strings.Repeat("s", 70)} {
			if got, want := MakeName(server, s), referenceMakeName(server, s); got != want {
				t.Errorf("MakeName(%q, %q) = %q, want %q", server, s, got, want)
			}
		}
	}
}
