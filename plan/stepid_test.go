package plan

import (
	"regexp"
	"strings"
	"testing"
)

// TestStepIDPatternMatchesRegexp: the byte check accepts exactly what
// ^[A-Za-z_][A-Za-z0-9_-]{0,63}$ matches.
func TestStepIDPatternMatchesRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)
	cases := []string{"", "a", "_", "-a", "9a", "a9-_", strings.Repeat("x", 64), strings.Repeat("x", 65), "a b", "a.b", "é", "a\n"}
	for c := range 256 {
		b := string([]byte{byte(c)})
		cases = append(cases, b, "a"+b, b+"a", strings.Repeat("y", 63)+b)
	}
	for _, s := range cases {
		if got, want := stepIDPattern.MatchString(s), re.MatchString(s); got != want {
			t.Errorf("stepIDPattern.MatchString(%q) = %v, want %v", s, got, want)
		}
	}
}
