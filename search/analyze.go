package search

import (
	"maps"
	"unicode/utf8"
)

// analyzer turns text into terms: splitWords, stopwords, stemming. With a
// stems map it memoises stems and is not safe for concurrent use (index
// builds use one for the whole build); the zero value does not memoise.
type analyzer struct {
	stems map[string]string
	// shared marks stems as read by a published index generation: it is
	// copied before the first change (copy on write). readOnly analyzers
	// (queries) only read it.
	shared, readOnly bool
	buf              []byte
	// known, when set, limits the word pairs emitted to the terms of this
	// lexicon (queries: a pair no tool has cannot match, and this way it
	// costs no allocation).
	known *lexicon
	pair  []byte
	// bigrams, when set, makes terms also emit each pair of adjacent
	// words (stopwords skipped) as a term of its own, bigramPrefix +
	// "a b", right after the second word's term (see Params.Bigram).
	bigrams bool
	// prefixLen, when above 0, makes terms also emit each word's first
	// prefixLen characters as a term of its own, prefixMark + prefix,
	// right after the word's term (see Params.Prefix).
	prefixLen int
	pfx       []byte
	// prefixes, when set, interns the prefix terms of index builds (a
	// catalog has far fewer distinct prefixes than words).
	prefixes map[string]string
}

// bigramPrefix marks a word-pair term; no word contains it.
const bigramPrefix = "\x02"

// isBigramTerm reports whether t is a word-pair term.
func isBigramTerm(t string) bool { return len(t) > 0 && t[0] == bigramPrefix[0] }

// prefixMark marks a word-prefix term (Params.Prefix); no word contains it.
const prefixMark = "\x03"

// isPrefixTerm reports whether t is a word-prefix term.
func isPrefixTerm(t string) bool { return len(t) > 0 && t[0] == prefixMark[0] }

// isWordTerm reports whether t is a term of one word (not a word pair or
// a word prefix).
func isWordTerm(t string) bool { return !isBigramTerm(t) && !isPrefixTerm(t) }

// stopStem is the stem an analyzer's stems map records for a stopword, so
// that one lookup tells stopwords, known words and new words apart.
const stopStem = ""

func newAnalyzer() *analyzer {
	stems := make(map[string]string, len(stopwords))
	for w := range stopwords {
		stems[w] = stopStem
	}
	return &analyzer{stems: stems, prefixes: make(map[string]string)}
}

// stemmer selects the stemming function (tests and tuning swap it).
var stemmer = stem

// terms calls emit for every index term of text. When keepStop is set,
// stopwords are kept (used when a query consists of stopwords only).
func (a *analyzer) terms(text string, keepStop bool, emit func(string)) {
	prev := ""
	a.buf = splitWords(text, a.buf[:0], func(w []byte, cjk bool) {
		if cjk {
			prev = ""
			emit(string(w))
			return
		}
		var s string
		if a.stems == nil {
			if !keepStop && stopwords[string(w)] {
				return
			}
			s = stemmer(string(w))
		} else if m, ok := a.stems[string(w)]; ok {
			if m == stopStem {
				if !keepStop {
					return
				}
				m = stemmer(string(w))
			}
			s = m
		} else {
			word := string(w)
			s = stemmer(word)
			if !a.readOnly {
				if a.shared {
					a.stems, a.shared = maps.Clone(a.stems), false
				}
				a.stems[word] = s
			}
		}
		emit(s)
		if a.prefixLen > 0 {
			a.emitPrefix(w, emit)
		}
		if a.bigrams {
			if prev != "" {
				a.emitPair(prev, s, emit)
			}
			prev = s
		}
	})
}

// emitPrefix emits the prefix term of word w: its first prefixLen
// characters (all of it when shorter), before stemming.
func (a *analyzer) emitPrefix(w []byte, emit func(string)) {
	n, chars := 0, 0
	for n < len(w) && chars < a.prefixLen {
		_, size := utf8.DecodeRune(w[n:])
		n += size
		chars++
	}
	a.pfx = append(append(a.pfx[:0], prefixMark...), w[:n]...)
	if a.known == nil {
		s, ok := a.prefixes[string(a.pfx)]
		if !ok {
			s = string(a.pfx)
			if a.prefixes != nil {
				a.prefixes[s] = s
			}
		}
		emit(s)
		return
	}
	if id, ok := a.known.termIndex[string(a.pfx)]; ok {
		emit(a.known.terms[id])
	}
}

// emitPair emits the word-pair term of a and b.
func (a *analyzer) emitPair(first, second string, emit func(string)) {
	if a.known == nil {
		emit(bigramPrefix + first + " " + second)
		return
	}
	a.pair = append(append(append(append(a.pair[:0], bigramPrefix...), first...), ' '), second...)
	if id, ok := a.known.termIndex[string(a.pair)]; ok {
		emit(a.known.terms[id])
	}
}
