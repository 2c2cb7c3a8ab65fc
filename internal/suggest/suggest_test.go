package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"timeout", "timeuot", 2}, {"fetch", "fetch", 0}, {"flaw", "lawn", 2},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", c.b, c.a, got, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	for _, c := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"timeot", []string{"command", "timeout", "tags"}, "timeout"},
		{"comand", []string{"command", "cwd"}, "command"},
		// Too far for a short word: no suggestion.
		{"xyz", []string{"command", "url"}, ""},
		// Ties go to the candidate that sorts first, whatever the order.
		{"fech", []string{"fetcz", "feth", "fecha"}, "fecha"},
		{"fech", []string{"fecha", "feth", "fetcz"}, "fecha"},
		// Long names allow proportionally more edits (len/3).
		{"github__create_isue_comment", []string{"github__create_issue_comment", "github__list_issues"}, "github__create_issue_comment"},
		{"github__crate_isue_coment_x", []string{"github__create_issue_comment"}, "github__create_issue_comment"},
		{"a_very_different_tool_name", []string{"github__create_issue_comment"}, ""},
		{"read", nil, ""},
		{"same", []string{"same"}, "same"},
	} {
		if got := Closest(c.word, c.candidates); got != c.want {
			t.Errorf("Closest(%q, %q) = %q, want %q", c.word, c.candidates, got, c.want)
		}
	}
}
