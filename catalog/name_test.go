package catalog

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestMakeName(t *testing.T) {
	long := strings.Repeat("very_long_tool_name_", 5)
	cases := []struct {
		server, tool, want string
	}{
		{"github", "create_issue", "github__create_issue"},
		{"my server", "list.items", "my_server__list_items"},
		{"fs", "读取文件", "fs__tool"},
		{"", "echo", "echo"},
		{"a", "get-sum", "a__get-sum"},
		{"srv", "a..b//c", "srv__a_b_c"},
		{"srv", long, "srv__very_long_tool_name_very_long_tool_name_very_long_" + shortHash("srv\x00"+long, 8)},
	}
	for _, c := range cases {
		got := MakeName(c.server, c.tool)
		if got != c.want {
			t.Errorf("MakeName(%q, %q) = %q, want %q", c.server, c.tool, got, c.want)
		}
		if !ValidName(got) {
			t.Errorf("MakeName(%q, %q) = %q is not a valid name", c.server, c.tool, got)
		}
	}
}

func TestMakeNameLongNamesStayDistinct(t *testing.T) {
	seen := map[string]string{}
	prefix := strings.Repeat("x", 80)
	for i := range 1000 {
		tool := fmt.Sprintf("%s_%d", prefix, i)
		n := MakeName("server", tool)
		if len(n) > MaxNameLen || !ValidName(n) {
			t.Fatalf("invalid name %q", n)
		}
		if prev, dup := seen[n]; dup {
			t.Fatalf("%q and %q both map to %q", prev, tool, n)
		}
		seen[n] = tool
	}
}

func TestSnapshotCollisionsDeterministic(t *testing.T) {
	// "a.b" and "a_b" sanitize to the same name; so do servers "x y" and "x_y".
	tools := []Tool{
		{Server: "srv", Original: "a.b"},
		{Server: "srv", Original: "a_b"},
		{Server: "srv", Original: "a b"},
		{Server: "x y", Original: "t"},
		{Server: "x_y", Original: "t"},
		{Server: "srv", Original: "a_b"}, // exact duplicate: dropped
	}
	s1 := NewSnapshot(tools)
	// Reverse input order: same result.
	rev := make([]Tool, len(tools))
	for i := range tools {
		rev[len(tools)-1-i] = tools[i]
	}
	s2 := NewSnapshot(rev)
	if s1.Version() != s2.Version() {
		t.Fatalf("versions differ: %s vs %s", s1.Version(), s2.Version())
	}
	if s1.Len() != 5 {
		t.Fatalf("Len = %d, want 5", s1.Len())
	}
	names := map[string]bool{}
	for i, tool := range s1.Tools() {
		if !ValidName(tool.Name) || names[tool.Name] {
			t.Fatalf("bad or duplicate name %q", tool.Name)
		}
		names[tool.Name] = true
		if tool.Name != s2.Tools()[i].Name || tool.Original != s2.Tools()[i].Original {
			t.Fatalf("order differs at %d", i)
		}
		if i > 0 && s1.Tools()[i-1].Name >= tool.Name {
			t.Fatalf("not sorted at %d", i)
		}
	}
	// The tool sorting first by (server, original) keeps the plain name: "a b" < "a.b" < "a_b".
	if got, _ := s1.Get("srv__a_b"); got.Original != "a b" {
		t.Fatalf("srv__a_b is %q, want %q", got.Original, "a b")
	}
	if got, _ := s1.Get("x_y__t"); got.Server != "x y" {
		t.Fatalf("x_y__t is from %q, want %q", got.Server, "x y")
	}
}

func TestSnapshotChanged(t *testing.T) {
	a := NewSnapshot([]Tool{{Server: "s", Original: "one", Description: "1"}, {Server: "s", Original: "two"}})
	b := NewSnapshot([]Tool{{Server: "s", Original: "one", Description: "changed"}, {Server: "s", Original: "three"}})
	added, removed := b.Changed(a)
	if fmt.Sprint(added) != "[s__one s__three]" || fmt.Sprint(removed) != "[s__two]" {
		t.Fatalf("added %v removed %v", added, removed)
	}
	if a.Version() == b.Version() {
		t.Fatal("different content, same version")
	}
	added, removed = a.Changed(a)
	if len(added)+len(removed) != 0 {
		t.Fatalf("self diff: %v %v", added, removed)
	}
}

func TestAnnotationDefaults(t *testing.T) {
	var none *Annotations
	if none.ReadOnly() || !none.Destructive() || none.Idempotent() || !none.OpenWorld() {
		t.Fatal("nil annotations must give MCP defaults")
	}
	yes := true
	ro := &Annotations{ReadOnlyHint: &yes}
	if !ro.ReadOnly() || ro.Destructive() || !ro.Idempotent() {
		t.Fatal("read-only implies non-destructive and idempotent")
	}
}

// TestValidNameMatchesPattern: ValidName accepts exactly what the pattern
// ^[a-zA-Z0-9_-]{1,64}$ matches.
func TestValidNameMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	cases := []string{"", "a", "A-b_9", strings.Repeat("x", 64), strings.Repeat("x", 65), "a b", "a.b", "é", "a\n", "\na", "a\x00", "__", "-"}
	for c := range 256 {
		cases = append(cases, "a"+string(rune(c)), string([]byte{byte(c)}))
	}
	for _, s := range cases {
		if got, want := ValidName(s), re.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
		}
	}
}
