package search

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/weft-dev/weft/catalog"
)

// MaxQueryTerms bounds the part of a query text that is searched: a longer
// text (agents paste whole task descriptions) is searched on its first
// MaxQueryTerms words, where a word is a run of letters and digits and each
// Chinese, Japanese or Korean character counts as one. The rest is ignored,
// never refused; the request is usually stated first.
const MaxQueryTerms = 256

// DefaultK is the number of results when Query.K is 0.
const DefaultK = 10

// MaxK is the largest Query.K accepted.
const MaxK = 1000

// Query is one search request.
type Query struct {
	// Text is the request in natural language (required; any length, but
	// only its first MaxQueryTerms words are searched).
	Text string `json:"text"`
	// K is the number of results wanted (default DefaultK, at most MaxK).
	K int `json:"k,omitempty"`
	// Servers keeps only tools of these servers (any of them), when non-empty.
	Servers []string `json:"servers,omitempty"`
	// Tags keeps only tools carrying at least one of these tags, when non-empty.
	Tags []string `json:"tags,omitempty"`
	// ReadOnly keeps only tools annotated read-only.
	ReadOnly bool `json:"read_only,omitempty"`
	// Allow keeps only tools whose catalog name matches one of these
	// patterns (path.Match syntax: "github__*"), when non-empty.
	Allow []string `json:"allow,omitempty"`
	// Deny drops tools whose catalog name matches one of these patterns.
	Deny []string `json:"deny,omitempty"`
	// Visible, when set, is the caller's policy: tools it rejects are not
	// in the catalog as far as this query is concerned (filtered before
	// ranking, so k visible results come back whenever k exist). The facade
	// sets it from the request context; it is never read from JSON.
	Visible func(*catalog.Tool) bool `json:"-"`
	// WithSchema fills Result.InputSchema.
	WithSchema bool `json:"with_schema,omitempty"`
	// WithSignature fills Result.Signature with the tool's compact
	// TypeScript signature.
	WithSignature bool `json:"with_signature,omitempty"`
}

// Result is one tool found for a query, best first.
type Result struct {
	// Name is the tool's catalog name.
	Name string `json:"name"`
	// Score is the ranking score; comparable within one result list only.
	Score float64 `json:"score"`
	// Matched names the fields the query's terms were found in
	// ("name", "title", "description", "parameter_names",
	// "parameter_descriptions", "server", "server_description", "tags",
	// "examples"), plus "semantic" when the dense retriever found the tool.
	Matched     []string `json:"matched,omitempty"`
	Description string   `json:"description,omitempty"`
	Server      string   `json:"server,omitempty"`
	// InputSchema is the tool's input schema, when Query.WithSchema is set.
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
	// Signature is the tool's compact TypeScript signature, when
	// Query.WithSignature is set.
	Signature string `json:"signature,omitempty"`
}

// Response is the answer to a Query.
type Response struct {
	// Results are the tools found, best first.
	Results []Result `json:"results"`
	// Degraded, when set, says that part of the configured retrieval was
	// unavailable and why, e.g. "semantic search unavailable: embed query:
	// …": the results come from the lexical engine alone.
	Degraded string `json:"degraded,omitempty"`
}

// QueryError reports an invalid Query. Surfaces map it to a usage error or
// HTTP 400.
type QueryError struct {
	// Field is the offending Query field ("text", "k", "allow", "deny").
	Field string
	// Reason says what is wrong and what is allowed.
	Reason string
}

// Error implements error.
func (e *QueryError) Error() string { return "search: invalid query " + e.Field + ": " + e.Reason }

// Validate checks q and returns a *QueryError describing the first problem.
func (q *Query) Validate() error {
	switch {
	case !utf8.ValidString(q.Text):
		return &QueryError{Field: "text", Reason: "is not valid UTF-8"}
	case strings.TrimSpace(q.Text) == "":
		return &QueryError{Field: "text", Reason: "is empty; say what the tool should do, e.g. \"read a file\""}
	case q.K < 0 || q.K > MaxK:
		return &QueryError{Field: "k", Reason: fmt.Sprintf("is %d; use 1..%d (0 means %d)", q.K, MaxK, DefaultK)}
	}
	for _, l := range []struct {
		name string
		pats []string
	}{{"allow", q.Allow}, {"deny", q.Deny}} {
		for _, p := range l.pats {
			if err := checkPattern(p); err != nil {
				return &QueryError{Field: l.name, Reason: fmt.Sprintf("pattern %q is malformed (%v); use path.Match syntax such as \"server__*\"", p, err)}
			}
		}
	}
	return nil
}

func (q *Query) k() int {
	if q.K == 0 {
		return DefaultK
	}
	return q.K
}

// leadingText returns the part of text that is searched: all of it, or
// when it has more than n words (see MaxQueryTerms) the text up to the end
// of its n-th word.
func leadingText(text string, n int) string {
	if (len(text)+1)/2 <= n {
		// Words are separated, so a text of len bytes has at most
		// (len+1)/2 of them (a CJK character, one word, takes 3 bytes).
		return text
	}
	words, inWord := 0, false
	for i, r := range text {
		switch {
		case isCJK(r):
			if words == n {
				return text[:i]
			}
			words++
			inWord = false
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if !inWord {
				if words == n {
					return text[:i]
				}
				words++
				inWord = true
			}
		default:
			inWord = false
		}
	}
	return text
}
