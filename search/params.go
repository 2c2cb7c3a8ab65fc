package search

// FieldParams weighs one field of a tool in BM25F.
type FieldParams struct {
	// Weight multiplies the field's (length-normalised) term frequency;
	// 0 leaves the field out of scoring.
	Weight float64 `json:"weight"`
	// B is the field's length normalisation in [0, 1]: 0 ignores length,
	// 1 divides by the field length relative to its average.
	B float64 `json:"b"`
}

// Params are the ranking parameters of the lexical engine. DefaultParams
// are tuned on the dev splits of the toolbench data (see docs/search.md);
// override them only with a measurement (Evaluate) in hand.
type Params struct {
	// K1 is the BM25 term-frequency saturation.
	K1 float64 `json:"k1"`

	Name              FieldParams `json:"name"`
	Title             FieldParams `json:"title"`
	Description       FieldParams `json:"description"`
	ParamNames        FieldParams `json:"param_names"`
	ParamDescriptions FieldParams `json:"param_descriptions"`
	Server            FieldParams `json:"server"`
	ServerDescription FieldParams `json:"server_description"`
	Tags              FieldParams `json:"tags"`
	Examples          FieldParams `json:"examples"`

	// QueryTFPower dampens repeated query terms: a term that occurs n
	// times in the query weighs n^QueryTFPower (0 = presence only, 1 = linear).
	QueryTFPower float64 `json:"query_tf_power"`

	// ServerBoost adds this share of a tool's server score to the tool's
	// score. A server is scored as one document made of all its tools, so
	// a request that fits a server as a whole lifts that server's tools.
	// 0 disables it; catalogs without server names are unaffected.
	ServerBoost float64 `json:"server_boost"`

	// Bigram indexes each pair of adjacent words of a tool's name, title
	// and description (stopwords skipped) as a term of its own, and weighs
	// each adjacent word pair of a query Bigram times a word: a tool saying
	// "health workforce" outranks one with "health" and "workforce" apart.
	// 0 disables it.
	Bigram float64 `json:"bigram"`

	// Prefix indexes the first PrefixLen characters of every word of a
	// tool (before stemming) as a term of its own, and weighs the prefix
	// of each query word Prefix times the word: a looser match that meets
	// derivations the light stemmer keeps apart on purpose ("specifically"
	// and "specific", "recommend" and "recommendations", "analyze" and
	// "analysis"). A word that matches matches its prefix too, so exact
	// matches still count most. 0 disables it.
	Prefix float64 `json:"prefix"`
	// PrefixLen is the length of the prefixes in characters (default
	// DefaultPrefixLen when 0).
	PrefixLen int `json:"prefix_len"`

	// Relax, when set, fills the places a query leaves empty (fewer tools
	// match its terms than were asked for) with the best further tools for
	// the query with its request phrasing ("need", "want", "please") put
	// back, after the tools found.
	Relax bool `json:"relax"`

	// Coverage re-ranks the best CoverageDepth candidates of long queries
	// (at least CoverageMinTerms distinct terms: multi-step requests that
	// need one tool per step) so that each next result favours query terms
	// the results before it do not cover yet. A term a chosen tool already
	// covers to degree c in [0, 1] counts 1/(1+Coverage·c). 0 disables it.
	Coverage         float64 `json:"coverage"`
	CoverageDepth    int     `json:"coverage_depth"`
	CoverageMinTerms int     `json:"coverage_min_terms"`
}

// DefaultParams returns the tuned defaults.
func DefaultParams() Params {
	return Params{
		K1:                1.5,
		Name:              FieldParams{Weight: 3, B: 0.5},
		Title:             FieldParams{Weight: 2, B: 0.5},
		Description:       FieldParams{Weight: 1, B: 0.5},
		ParamNames:        FieldParams{Weight: 0.5, B: 0.5},
		ParamDescriptions: FieldParams{Weight: 1, B: 0.75},
		Server:            FieldParams{Weight: 1, B: 0.5},
		ServerDescription: FieldParams{Weight: 0.3, B: 0.75},
		Tags:              FieldParams{Weight: 0.5, B: 0.5},
		Examples:          FieldParams{Weight: 0.2, B: 0.75},
		QueryTFPower:      0.5,
		Bigram:            0.5,
		Prefix:            0.5,
		PrefixLen:         DefaultPrefixLen,
		Relax:             true,
		ServerBoost:       0.3,
		Coverage:          1,
		CoverageDepth:     30,
		CoverageMinTerms:  12,
	}
}

// DefaultPrefixLen is the default Params.PrefixLen.
const DefaultPrefixLen = 5

// prefixLen is the prefix length in use, 0 when Params.Prefix is off.
func (p *Params) prefixLen() int {
	switch {
	case p.Prefix <= 0:
		return 0
	case p.PrefixLen <= 0:
		return DefaultPrefixLen
	}
	return p.PrefixLen
}

func (p *Params) fields() [numFields]FieldParams {
	return [numFields]FieldParams{
		fieldName:              p.Name,
		fieldTitle:             p.Title,
		fieldDescription:       p.Description,
		fieldParamNames:        p.ParamNames,
		fieldParamDescriptions: p.ParamDescriptions,
		fieldServer:            p.Server,
		fieldServerDescription: p.ServerDescription,
		fieldTags:              p.Tags,
		fieldExamples:          p.Examples,
	}
}
