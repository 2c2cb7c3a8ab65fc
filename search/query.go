package search

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/weft-dev/weft/catalog"
)

// MaxQueryLen is the longest query text accepted, in characters.
const MaxQueryLen = 2000

// DefaultK is the number of results when Query.K is 0.
const DefaultK = 10

// MaxK is the largest Query.K accepted.
const MaxK = 1000

// Query is one search request.
type Query struct {
	// Text is the request in natural language (required, at most MaxQueryLen characters).
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
	case utf8.RuneCountInString(q.Text) > MaxQueryLen:
		return &QueryError{Field: "text", Reason: fmt.Sprintf("has %d characters; at most %d are allowed", utf8.RuneCountInString(q.Text), MaxQueryLen)}
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
