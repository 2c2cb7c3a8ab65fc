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
		// "provide" → provid); a pair with a dropped word is dropped.
		{"please provide the weather forecast", []string{"weather", "forecast", bigramPrefix + "weather forecast"}, []string{"pleas", "provid"}, ""},
		{"read files", []string{"read", "fil", bigramPrefix + "read fil"}, nil, ""},
		// A query of request words only keeps them.
		{"please help", []string{"pleas", "help", bigramPrefix + "pleas help"}, nil, ""},
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
			if isBigramTerm(term) {
				want = float32(p.Bigram)
			}
			if pq.weights[i] != want {
				t.Errorf("parseQuery(%q): %q weighs %v, want %v", tt.text, term, pq.weights[i], want)
			}
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
