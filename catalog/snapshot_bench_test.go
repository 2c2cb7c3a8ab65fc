package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// benchTools are n tools shaped like real MCP tools: a sentence of
// description, a schema of a few typed properties, a tag, over n/50
// servers.
func benchTools(n int) []Tool {
	tools := make([]Tool, n)
	for i := range tools {
		tools[i] = Tool{
			Server:      fmt.Sprintf("server-%d", i%(n/50+1)),
			Original:    fmt.Sprintf("get_item_%d", i),
			Description: fmt.Sprintf("Fetch item %d by id from the remote store, with optional fields and paging.", i),
			InputSchema: json.RawMessage(fmt.Sprintf(`{"type":"object","properties":{"id":{"type":"string","description":"item %d id"},"fields":{"type":"array","items":{"type":"string"}},"limit":{"type":"integer","minimum":1,"maximum":100}},"required":["id"]}`, i)),
			Tags:        []string{"store"},
		}
	}
	return tools
}

// BenchmarkNewSnapshot builds a snapshot (naming, de-duplication, content
// hashes, order, version) of 1k and 100k tools.
func BenchmarkNewSnapshot(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			tools := benchTools(n)
			b.ReportAllocs()
			for b.Loop() {
				if s := NewSnapshot(tools); s.Len() != n {
					b.Fatal(s.Len())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/snapshot")
		})
	}
}

// TestContentHash: every field but Name and Hash changes the hash (a
// value moved from one field to the next too); tag order does not; the
// same tools in any order give the same snapshot, duplicates keep the
// first.
func TestContentHash(t *testing.T) {
	yes, no := true, false
	base := Tool{Original: "o", Server: "s", ServerDescription: "sd", Title: "ti", Description: "d",
		InputSchema: json.RawMessage(`{"type":"object"}`), OutputSchema: json.RawMessage(`{}`),
		Annotations: &Annotations{Title: "at", ReadOnlyHint: &yes}, Examples: []json.RawMessage{json.RawMessage(`{"a":1}`)},
		Tags: []string{"b", "a"}}
	h := ContentHash(&base)
	variants := []func(t *Tool){
		func(t *Tool) { t.Original = "o2" }, func(t *Tool) { t.Server = "s2" },
		func(t *Tool) { t.ServerDescription = "" }, func(t *Tool) { t.Title = "ti2" },
		func(t *Tool) { t.Description = "d2" }, func(t *Tool) { t.InputSchema = json.RawMessage(`{"type":"string"}`) },
		func(t *Tool) { t.OutputSchema = nil }, func(t *Tool) { t.Annotations = nil },
		func(t *Tool) { t.Annotations = &Annotations{Title: "at", ReadOnlyHint: &no} },
		func(t *Tool) { t.Annotations = &Annotations{Title: "at"} },
		func(t *Tool) { t.Examples = nil }, func(t *Tool) { t.Tags = []string{"a"} },
		func(t *Tool) { t.Title, t.Description = "", "ti"+"d" }, // moved across a field boundary
		func(t *Tool) { t.Original, t.Server = "os", "" },
	}
	seen := map[string]int{h: -1}
	for i, f := range variants {
		v := base
		f(&v)
		got := ContentHash(&v)
		if j, dup := seen[got]; dup {
			t.Errorf("variant %d hashes like %d", i, j)
		}
		seen[got] = i
	}
	v := base
	v.Tags = []string{"a", "b"}
	v.Name, v.Hash = "other", "x"
	if ContentHash(&v) != h {
		t.Error("tag order or Name/Hash changed the hash")
	}

	tools := benchTools(5000)
	tools = append(tools, Tool{Server: tools[7].Server, Original: tools[7].Original, Description: "a later duplicate"})
	a := NewSnapshot(tools)
	rev := slices.Clone(tools[:len(tools)-1])
	slices.Reverse(rev)
	b := NewSnapshot(append(rev, tools[len(tools)-1]))
	if a.Version() != b.Version() || a.Len() != 5000 {
		t.Fatalf("versions %s %s, len %d", a.Version(), b.Version(), a.Len())
	}
	if got, _ := a.Get(MakeName(tools[7].Server, tools[7].Original)); got.Description != tools[7].Description {
		t.Fatalf("duplicate: kept %q", got.Description)
	}
	if !slices.IsSortedFunc(a.Tools(), func(x, y Tool) int { return strings.Compare(x.Name, y.Name) }) {
		t.Fatal("tools not in name order")
	}
}
