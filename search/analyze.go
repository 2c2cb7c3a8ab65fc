package search

// analyzer turns text into terms: splitWords, stopwords, stemming. With a
// stems map it memoises stems and is not safe for concurrent use (index
// builds use one for the whole build); the zero value does not memoise.
type analyzer struct {
	stems map[string]string
	buf   []byte
}

func newAnalyzer() *analyzer { return &analyzer{stems: make(map[string]string)} }

// stemmer selects the stemming function (tests and tuning swap it).
var stemmer = stem

// terms calls emit for every index term of text. When keepStop is set,
// stopwords are kept (used when a query consists of stopwords only).
func (a *analyzer) terms(text string, keepStop bool, emit func(string)) {
	a.buf = splitWords(text, a.buf[:0], func(w []byte, cjk bool) {
		if cjk {
			emit(string(w))
			return
		}
		if !keepStop && stopwords[string(w)] {
			return
		}
		if a.stems == nil {
			emit(stemmer(string(w)))
			return
		}
		if s, ok := a.stems[string(w)]; ok {
			emit(s)
			return
		}
		word := string(w)
		s := stemmer(word)
		a.stems[word] = s
		emit(s)
	})
}
