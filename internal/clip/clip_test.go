package clip

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	long := strings.Repeat("a", 100_000)
	cases := []struct{ in, want string }{
		{"", ""},
		{"fn__echo", "fn__echo"},
		{strings.Repeat("b", Max), strings.Repeat("b", Max)},
		{long, strings.Repeat("a", Max) + "…(+99872 bytes)"},
		// A multi-byte rune across the bound is not split.
		{strings.Repeat("a", Max-1) + "é" + "zz", strings.Repeat("a", Max-1) + "…(+4 bytes)"},
		{"bad\xffbyte", "bad\uFFFDbyte"},
	}
	for _, c := range cases {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%.20q…) = %.40q…, want %.40q…", c.in, got, c.want)
		}
	}
	if got := N("abcdef", 3); got != "abc…(+3 bytes)" {
		t.Errorf("N = %q", got)
	}
}
