package search

import (
	"context"
	"slices"
	"testing"

	"github.com/weft-dev/weft/catalog"
)

func searchNames(t *testing.T, tools []catalog.Tool, p Params, q Query) []string {
	t.Helper()
	ix, err := New(catalog.NewSnapshot(tools), Options{Params: &p})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return names(res.Results)
}

func TestBigramsRankAdjacentWordsFirst(t *testing.T) {
	// The same words, the same lengths; only "health workforce" side by
	// side tells the tools apart.
	tools := []catalog.Tool{
		{Original: "apart_a", Description: "Report workforce size and health budget."},
		{Original: "apart_b", Description: "Report health workforce size and budget."},
	}
	q := Query{Text: "health workforce", K: 2}
	// apart_b holds the words side by side; catalog order puts apart_a first.
	if got := searchNames(t, tools, DefaultParams(), q); !slices.Equal(got, []string{"apart_b", "apart_a"}) {
		t.Errorf("with bigrams: %v, want apart_b (adjacent words) first", got)
	}
	off := DefaultParams()
	off.Bigram = 0
	if got := searchNames(t, tools, off, q); !slices.Equal(got, []string{"apart_a", "apart_b"}) {
		t.Errorf("without bigrams: %v, want the tie in catalog order (apart_a first)", got)
	}
}

func TestRelaxFillsPlacesLeftEmpty(t *testing.T) {
	tools := []catalog.Tool{
		{Original: "read_file", Description: "Read a file from disk."},
		{Original: "find_needs", Description: "Lists what your users need most."},
		{Original: "get_forecast", Description: "Weather forecast for a city."},
	}
	q := Query{Text: "I need to read a file", K: 3}
	// "need" frames the request: dropped, so one tool matches; the
	// relaxed query puts it back to fill the second place, never the third
	// (no further tool matches at all).
	if got := searchNames(t, tools, DefaultParams(), q); !slices.Equal(got, []string{"read_file", "find_needs"}) {
		t.Errorf("relaxed: %v, want [read_file find_needs]", got)
	}
	off := DefaultParams()
	off.Relax = false
	if got := searchNames(t, tools, off, q); !slices.Equal(got, []string{"read_file"}) {
		t.Errorf("not relaxed: %v, want [read_file]", got)
	}
	// A filter holds for the places filled by the relaxed query too.
	q.Deny = []string{"find_*"}
	if got := searchNames(t, tools, DefaultParams(), q); !slices.Equal(got, []string{"read_file"}) {
		t.Errorf("relaxed with deny: %v, want [read_file]", got)
	}
}

func TestParseQueryTerms(t *testing.T) {
	p := DefaultParams()
	tests := []struct {
		text        string
		terms       []string
		relax       []string
		bigramFirst string
	}{
		// Request words are matched after stemming ("please" → pleas,
		// "provide" → provid); a pair with a dropped word is dropped; a
		// word's prefix (its first five characters, before stemming) goes
		// where the word goes.
		{"please provide the weather forecast", []string{"weather", prefixMark + "weath", "forecast", prefixMark + "forec", bigramPrefix + "weather forecast"},
			[]string{"pleas", prefixMark + "pleas", "provid", prefixMark + "provi"}, ""},
		{"read files", []string{"read", prefixMark + "read", "fil", prefixMark + "files", bigramPrefix + "read fil"}, nil, ""},
		// A query of request words only keeps them.
		{"please help", []string{"pleas", prefixMark + "pleas", "help", prefixMark + "help", bigramPrefix + "pleas help"}, nil, ""},
		// Prefixes are cut at characters, not bytes (non-ASCII words are
		// not stemmed).
		{"éléphants", []string{"éléphants", prefixMark + "éléph"}, nil, ""},
	}
	for _, tt := range tests {
		pq := parseQuery(tt.text, &p, nil, nil)
		if !slices.Equal(pq.terms, tt.terms) {
			t.Errorf("parseQuery(%q).terms = %q, want %q", tt.text, pq.terms, tt.terms)
		}
		var relax []string
		if pq.relax != nil {
			relax = pq.relax.terms
		}
		if !slices.Equal(relax, tt.relax) {
			t.Errorf("parseQuery(%q) relaxed terms = %q, want %q", tt.text, relax, tt.relax)
		}
		for i, term := range pq.terms {
			want := float32(1)
			switch {
			case isBigramTerm(term):
				want = float32(p.Bigram)
			case isPrefixTerm(term):
				want = float32(p.Prefix)
			}
			if pq.weights[i] != want {
				t.Errorf("parseQuery(%q): %q weighs %v, want %v", tt.text, term, pq.weights[i], want)
			}
		}
	}
}

func TestPrefixesMatchDerivations(t *testing.T) {
	// "recommendations" and "recommend" have different stems; only their
	// prefixes meet. Catalog order puts the store first.
	tools := []catalog.Tool{
		{Original: "book_store", Description: "Sell books online."},
		{Original: "book_advisor", Description: "Recommend books to read next."},
	}
	q := Query{Text: "book recommendations", K: 2}
	if got := searchNames(t, tools, DefaultParams(), q); !slices.Equal(got, []string{"book_advisor", "book_store"}) {
		t.Errorf("with prefixes: %v, want book_advisor (recommend) first", got)
	}
	off := DefaultParams()
	off.Prefix = 0
	if got := searchNames(t, tools, off, q); !slices.Equal(got, []string{"book_store", "book_advisor"}) {
		t.Errorf("without prefixes: %v, want the tie in catalog order (book_store first)", got)
	}
}

func TestExactWordsOutrankPrefixes(t *testing.T) {
	// Both tools match "analysis" by its prefix; only log_analysis has the
	// word itself, and it comes first although catalog order favours
	// log_analyzer.
	tools := []catalog.Tool{
		{Original: "log_analyzer", Description: "Analyze server logs."},
		{Original: "log_analysis", Description: "Analysis of server logs."},
	}
	ix, err := New(catalog.NewSnapshot(tools), Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ix.Search(context.Background(), Query{Text: "analysis", K: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Results); !slices.Equal(got, []string{"log_analysis", "log_analyzer"}) {
		t.Fatalf("got %v, want [log_analysis log_analyzer]", got)
	}
	// A tool found by a prefix alone says where it was found.
	for _, r := range res.Results {
		if !slices.Equal(r.Matched, []string{"name", "description"}) {
			t.Errorf("%s: Matched = %q, want [name description]", r.Name, r.Matched)
		}
	}
}

func TestWordsAndFields(t *testing.T) {
	if got, want := Words("getWeRead2Rank HTTPServer 必应搜索"), []string{"get", "we", "read", "2", "rank", "http", "server", "必应", "应搜", "搜索"}; !slices.Equal(got, want) {
		t.Errorf("Words = %q, want %q", got, want)
	}
	tool := testTools()[0]
	fs := Fields(&tool)
	var got []string
	for _, f := range fs {
		if f.Text != "" {
			got = append(got, f.Field+"="+f.Text)
		}
	}
	want := []string{"name=read_file", "description=Read the contents of a file from disk.",
		"parameter_names=path ", "parameter_descriptions=Absolute path of the file\n", "server=fs", "tags=files"}
	if !slices.Equal(got, want) {
		t.Errorf("Fields = %q, want %q", got, want)
	}
	if len(fs) != int(numFields) {
		t.Errorf("Fields returned %d fields, want %d", len(fs), numFields)
	}
}

func TestCountTerms(t *testing.T) {
	// Short lists are compared pairwise, long ones hashed: both count
	// each term at its first occurrence, skipping termSkip terms.
	pattern := []string{"a", "b", "a", "c", "b", "a"}
	kindsOf := []uint8{termMain, termMain, termMain, termRelax, termSkip, termMain}
	for _, reps := range []int{1, 10} {
		var terms []string
		var kinds []uint8
		for range reps {
			terms = append(terms, pattern...)
			kinds = append(kinds, kindsOf...)
		}
		got := countTerms(terms, kinds, &parseScratch{first: make(map[string]int32)})
		want := make([]int32, len(terms))
		want[0], want[1], want[3] = int32(3*reps), int32(reps), int32(reps)
		if !slices.Equal(got, want) {
			t.Errorf("%d terms: counts %v, want %v", len(terms), got, want)
		}
	}
}
