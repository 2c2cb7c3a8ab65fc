package synthetic

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/weft-dev/weft/catalog"
)

func TestDeterministicAndValid(t *testing.T) {
	a, b := Tools(500, 9), Tools(500, 9)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different catalogs")
	}
	if reflect.DeepEqual(a, Tools(500, 10)) {
		t.Fatal("different seeds gave the same catalog")
	}
	snap := catalog.NewSnapshot(a)
	if snap.Len() != 500 {
		t.Fatalf("snapshot kept %d of 500 tools (names must be unique)", snap.Len())
	}
	for _, tool := range a[:50] {
		var s map[string]any
		if err := json.Unmarshal(tool.InputSchema, &s); err != nil || s["type"] != "object" {
			t.Fatalf("%s: bad schema %s", tool.Original, tool.InputSchema)
		}
	}
	if q := Queries(3, 1); len(q) != 3 || q[0] == "" || !reflect.DeepEqual(q, Queries(3, 1)) {
		t.Fatalf("queries %q", q)
	}
}
