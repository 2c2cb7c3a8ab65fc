package search

import (
	"unicode"
	"unicode/utf8"
)

// Tokens splits text into index terms the way the search engine sees it, for
// tools and queries alike: identifiers are split at camelCase, PascalCase,
// snake_case, kebab-case, dotted and letter/digit boundaries
// ("getWeRead2Rank" → get, we, read, 2, rank); words are lower-cased;
// Chinese, Japanese and Korean runs become overlapping character bigrams;
// English stopwords are dropped and the rest lightly stemmed.
func Tokens(text string) []string {
	var out []string
	an := newAnalyzer()
	an.terms(text, false, func(t string) { out = append(out, t) })
	return out
}

// Words splits text into lower-cased words the way the search engine does
// before stopwords and stemming: identifiers are split at camelCase,
// PascalCase, snake_case, kebab-case, dotted and letter/digit boundaries,
// and Chinese, Japanese and Korean runs become overlapping character
// bigrams. Side-by-side benchmarks feed another engine these words so both
// sides see the same identifier splitting.
func Words(text string) []string {
	var out []string
	splitWords(text, nil, func(w []byte, _ bool) { out = append(out, string(w)) })
	return out
}

// splitWords calls emit for every word of s, lower-cased, in order. CJK runs
// are emitted as bigrams (a lone CJK character as itself) with cjk = true.
// buf is scratch space; emit must not retain the byte slice.
func splitWords(s string, buf []byte, emit func(w []byte, cjk bool)) []byte {
	const (
		sep = iota
		lower
		upper
		digit
		cjk
	)
	class := func(r rune) int {
		switch {
		case r < utf8.RuneSelf:
			switch {
			case 'a' <= r && r <= 'z':
				return lower
			case 'A' <= r && r <= 'Z':
				return upper
			case '0' <= r && r <= '9':
				return digit
			}
			return sep
		case isCJK(r):
			return cjk
		case unicode.IsUpper(r) || unicode.IsTitle(r):
			return upper
		case unicode.IsLetter(r) || unicode.IsMark(r):
			return lower
		case unicode.IsDigit(r):
			return digit
		}
		return sep
	}
	flush := func() {
		if len(buf) > 0 {
			emit(buf, false)
			buf = buf[:0]
		}
	}
	appendLower := func(r rune) {
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			buf = append(buf, byte(r))
			return
		}
		buf = utf8.AppendRune(buf, unicode.ToLower(r))
	}

	prev := sep
	var cjkPrev rune // previous CJK rune in the current CJK run, or 0
	cjkRunLen := 0
	endCJK := func() {
		if cjkRunLen == 1 {
			var b [4]byte
			n := utf8.EncodeRune(b[:], cjkPrev)
			emit(b[:n], true)
		}
		cjkRunLen, cjkPrev = 0, 0
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := class(r)
		if c != cjk && cjkRunLen > 0 {
			endCJK()
		}
		switch c {
		case sep:
			flush()
		case cjk:
			flush()
			if cjkRunLen > 0 {
				var b [8]byte
				n := utf8.EncodeRune(b[:], cjkPrev)
				n += utf8.EncodeRune(b[n:], r)
				emit(b[:n], true)
			}
			cjkPrev = r
			cjkRunLen++
		case lower:
			if prev == digit {
				flush()
			}
			appendLower(r)
		case upper:
			switch prev {
			case lower, digit:
				flush()
			case upper:
				// "HTTPServer": break before the last capital of a run when a
				// lower-case letter follows — but keep plurals like "IDs".
				if j := i + size; j < len(s) {
					nr, nsize := utf8.DecodeRuneInString(s[j:])
					if class(nr) == lower && !isPluralS(s, j, nr, nsize, class) {
						flush()
					}
				}
			}
			appendLower(r)
		case digit:
			if prev == lower || prev == upper {
				flush()
			}
			buf = utf8.AppendRune(buf, r)
		}
		prev = c
		i += size
	}
	if cjkRunLen > 0 {
		endCJK()
	}
	flush()
	return buf
}

// isPluralS reports whether the rune nr at s[j:] is a lone trailing "s"
// (as in "IDs", "URLs").
func isPluralS(s string, j int, nr rune, nsize int, class func(rune) int) bool {
	if nr != 's' {
		return false
	}
	if j+nsize >= len(s) {
		return true
	}
	after, _ := utf8.DecodeRuneInString(s[j+nsize:])
	c := class(after)
	return c != 1 // not followed by another lower-case letter
}

// isCJK reports whether r is a Han, Hiragana, Katakana or Hangul character.
func isCJK(r rune) bool {
	if r < 0x2E80 {
		return false
	}
	if r == 0x30FC || r == 0x3005 { // prolonged sound mark, iteration mark (script Common)
		return true
	}
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}
