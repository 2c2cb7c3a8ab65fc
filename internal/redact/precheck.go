package redact

import "strings"

// Pre-checks: byte scans that tell, without running a regular expression,
// that a pattern cannot match. Each is conservative — it may say "may
// match" for text the pattern leaves alone, never "cannot match" for text
// it would change — so skipping a pattern on their word keeps Text's output
// byte-identical (TestPrecheckNeverMisses compares against the patterns run
// unconditionally).

// Clean reports that Text would return text unchanged: none of its
// patterns can match. It is a cheap byte scan (no regular expression, no
// allocation); false means only that Text has to look.
func Clean(text string) bool {
	return needs(text) == 0
}

// Clean reports that r.Text would return text unchanged: Clean(text), and
// none of r's known secrets occurs in it.
func (r *Redactor) Clean(text string) bool {
	if r != nil {
		for _, s := range r.secrets {
			if strings.Contains(text, s) {
				return false
			}
		}
	}
	return Clean(text)
}

// The patterns a text may need.
const (
	needUserinfo = 1 << iota
	needAssignment
	needScheme
	needToken
)

// needs returns the patterns that may match text (a bit set of need*),
// in one pass over its bytes:
//
//   - userinfo needs "://" and then an '@';
//   - assignment needs a separator ('=' or ':') and a name SecretName
//     accepts (hasSecretNeedle);
//   - scheme needs (?i)bearer or basic ('s' also folds to U+017F ſ);
//   - tokenShape needs one of its formats' literal prefixes
//     (case-sensitive): sk-, gh[pousr]_, github_pat_, xox, AKIA, eyJ.
func needs(text string) int {
	var n int
	sep, scheme := false, false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case ':':
			sep = true
			if strings.HasPrefix(text[i+1:], "//") {
				scheme = true
			}
		case '=':
			sep = true
		case '@':
			if scheme {
				n |= needUserinfo
			}
		case 'b', 'B':
			if foldPrefix(text[i+1:], "earer") || foldPrefix(text[i+1:], "asic") {
				n |= needScheme
			}
		case 's':
			if strings.HasPrefix(text[i+1:], "k-") {
				n |= needToken
			}
		case 'g':
			if strings.HasPrefix(text[i+1:], "ithub_pat_") ||
				i+3 < len(text) && text[i+1] == 'h' && strings.IndexByte("pousr", text[i+2]) >= 0 && text[i+3] == '_' {
				n |= needToken
			}
		case 'x':
			if strings.HasPrefix(text[i+1:], "ox") {
				n |= needToken
			}
		case 'A':
			if strings.HasPrefix(text[i+1:], "KIA") {
				n |= needToken
			}
		case 'e':
			if strings.HasPrefix(text[i+1:], "yJ") {
				n |= needToken
			}
		}
	}
	if sep && hasSecretNeedle(text, false) {
		n |= needAssignment
	}
	return n
}

// secretNeedles: every word of secretWords and every fragment of
// secretFragments contains one of these, so SecretName(name) implies that
// name, lower-cased with its separators removed, contains one.
var secretNeedles = []string{
	"pass", "pwd", "secret", "token", "key", "auth", "credential", "cookie", "sig", "bearer", "sessionid",
}

// needlesByFirst are the secret needles by their first letter.
var needlesByFirst = func() (by [26][]string) {
	for _, nd := range secretNeedles {
		by[nd[0]-'a'] = append(by[nd[0]-'a'], nd)
	}
	return by
}()

// hasSecretNeedle reports whether text, lower-cased, with '_', '.', '-'
// and every non-ASCII byte skipped (anyName: every byte but ASCII letters
// and digits), contains a secret needle.
//
// A name SecretName accepts has, once lower-cased and stripped of
// everything but letters and digits (what words keeps), a needle in it, so
// hasSecretNeedle(name, true) is a pre-check of SecretName. The
// assignment pattern's names consist of letters, digits, '_', '.', '-'
// and, under (?i), ſ and K (non-ASCII), so for text hasSecretNeedle(text,
// false) == false means no assignment in it is redacted.
func hasSecretNeedle(text string, anyName bool) bool {
	for i := 0; i < len(text); i++ {
		c := lower(text[i])
		if !(c >= 'a' && c <= 'z') {
			continue
		}
		for _, nd := range needlesByFirst[c-'a'] {
			if needleAt(text, i+1, nd[1:], anyName) {
				return true
			}
		}
	}
	return false
}

// needleAt reports whether rest follows text[i:] once skipped bytes
// (hasSecretNeedle's) are left out.
func needleAt(text string, i int, rest string, anyName bool) bool {
	for k := 0; k < len(rest); {
		if i >= len(text) {
			return false
		}
		c := lower(text[i])
		i++
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (anyName || c == '_' || c == '.' || c == '-' || c >= 0x80) {
			continue
		}
		if c != rest[k] {
			return false
		}
		k++
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// foldPrefix reports whether text starts with word (lower-case ASCII)
// under Go's regexp case folding: ASCII case, 's' also as U+017F (ſ) and
// 'k' also as U+212A (the Kelvin sign).
func foldPrefix(text, word string) bool {
	j := 0
	for k := 0; k < len(word); k++ {
		w := word[k]
		switch {
		case j < len(text) && lower(text[j]) == w:
			j++
		case w == 's' && strings.HasPrefix(text[j:], "\u017f"):
			j += len("\u017f")
		case w == 'k' && strings.HasPrefix(text[j:], "\u212a"):
			j += len("\u212a")
		default:
			return false
		}
	}
	return true
}
