package config

import (
	"regexp"
	"strings"
	"testing"
)

// TestBytePatternsMatchRegexps: the byte checks that replaced package-level
// regexps accept exactly what those regexps match.
func TestBytePatternsMatchRegexps(t *testing.T) {
	cases := []string{"", "a", "A-b_9", strings.Repeat("x", 64), strings.Repeat("x", 65), "a b", "a.b", "é", "a\n", "\na",
		"sha256:", "sha256:" + strings.Repeat("0a", 32), "sha256:" + strings.Repeat("0A", 32), "sha256:" + strings.Repeat("a", 63),
		"sha256:" + strings.Repeat("a", 65), "SHA256:" + strings.Repeat("a", 64), "xsha256:" + strings.Repeat("a", 64)}
	for c := range 256 {
		cases = append(cases, "a"+string([]byte{byte(c)}), string([]byte{byte(c)}), "sha256:"+strings.Repeat("f", 63)+string([]byte{byte(c)}))
	}
	for _, p := range []struct {
		name string
		got  interface{ MatchString(string) bool }
		re   string
	}{
		{"serverName", serverName, `^[a-zA-Z0-9_-]{1,64}$`},
		{"modelName", modelName, `^[a-zA-Z0-9_-]{1,64}$`},
		{"apiKeyHash", apiKeyHash, `^sha256:[0-9a-f]{64}$`},
	} {
		re := regexp.MustCompile(p.re)
		for _, s := range cases {
			if got, want := p.got.MatchString(s), re.MatchString(s); got != want {
				t.Errorf("%s.MatchString(%q) = %v, want %v (%s)", p.name, s, got, want, p.re)
			}
		}
	}
}
