package search

// stopwords are English function words dropped from tools and queries alike.
var stopwords = setOf(`a about above after again against all am an and any are as at be because been
before being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not now of off on once only or other our ours ourselves
out over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which while
who whom why will with would you your yours yourself yourselves also etc e g eg ie via s t d ll m re ve
let lets may might must shall us`)

// requestWords are words that frame a request rather than say what it is
// about ("I want to", "can you please", "I'd like"). They are dropped from
// queries only — and only when the query has other terms.
var requestWords = setOf(`want wants wanted need needs like please help tell know give
kindly able possible someone something anything thank thanks hi hello hey provide`)

func setOf(words string) map[string]bool {
	m := make(map[string]bool)
	start := -1
	for i := 0; i <= len(words); i++ {
		if i == len(words) || words[i] == ' ' || words[i] == '\n' || words[i] == '\t' {
			if start >= 0 {
				m[words[start:i]] = true
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return m
}
