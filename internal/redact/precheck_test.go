package redact

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// textAll is Text with every pattern run unconditionally (no pre-check):
// the reference Text must stay byte-identical to.
func textAll(text string) string {
	if text == "" {
		return text
	}
	text = userinfo.ReplaceAllString(text, "${1}"+Marker+"@")
	text = redactAssignments(text)
	text = scheme.ReplaceAllString(text, "${1} "+Marker)
	return tokenShape.ReplaceAllString(text, Marker)
}

// precheckCorpus is the package's test texts (TestText's inputs and
// outputs, the names of TestSecretName) and texts around the pre-checks'
// edges: case folding (ſ, K), separators inside names, prefixes cut short.
func precheckCorpus() []string {
	corpus := []string{
		"connecting with password=hunter2 to db", "DB_PASSWORD=s3cr3t PORT=5432", "login failed: pwd: 'abc def'",
		`config {"apiKey": "AbC123xyz", "region": "eu"}`, "using token=ghx-1234567890", "x-api-key: k-12345 accepted",
		"header Authorization: Bearer abc.def-ghi_jkl", "Authorization: Basic dXNlcjpwYXNz",
		"dial postgres://admin:pa55@db:5432/app failed", "clone https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/x",
		"loaded key sk-proj-abcdefghijklmnop1234", "AKIAIOSFODNN7EXAMPLE used",
		"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXZhbHVl ok", "key=abc123", "PGPASS=hunter22 psql",
		"PGPASSWORD=hunter22", "curl -H 'Authorization: Bearer tok_live_123456'", "send Bearer abcdefgh to it",
		"error:password=x1", "https://h/x?sslmode=disable&api_key=abc123&v=1", "listening on http://127.0.0.1:3000/mcp",
		"Secure MCP Filesystem Server running on stdio", "process exited: exit status 3",
		"monkey: banana, keyword=go, author: ann, at 12:30:45",
		"run with PGPASS=hunter22 and Authorization: Bearer zzzzzzzz", "you said hunter22 to ann", "token=abc",
		// Edges of the pre-checks.
		"pa_ss=x", "p.a-s_s=hunter2", "PA.SS-WORD: abc", "paſs=abc", "paſſword=abc", "\u212aey=abc", "ſecret=abc",
		"ke\u212a=abc", "se-ssion_id=abc", "sessionid=x", "x_accesstoken=abc", "baſic dXNlcjpwYXNz", "BAſIC abcdefgh",
		"BEARER abcdefgh", "bearer\tabcdefgh", "auth:Bearer abcdefgh", "ghp_abcdefghijklmnopqrstuv",
		"gho_abcdefghijklmnopqrstuv", "gh_", "ghs", "github_pat_abcdefghijklmnopqrstuv", "xoxb-1234567890ab",
		"AKIA1234567890ABCDEF", "eyJabcdefghi.abcdefghi.abcdefghi", "sk-abcdefghijklmnopq", "a://b@c", "a:/ /b@c",
		"@a://b", "{{steps.s0.result}}", "after {{steps.s0.status}}", "é=è", "key", "=", ":", "",
	}
	for name := range map[string]bool{
		"password": true, "PASSWORD": true, "passwd": true, "db_password": true, "DBPASSWORD": true,
		"secret": true, "client_secret": true, "token": true, "access_token": true, "refreshToken": true,
		"key": true, "api_key": true, "apikey": true, "apiKey": true, "APIKey": true, "x-api-key": true,
		"OPENAI_API_KEY": true, "authorization": true, "Authorization": true, "auth": true,
		"credential": true, "credentials": true, "PGPASS": true, "PGPASSFILE": true, "private_key": true,
		"privateKey": true, "GITHUB_PERSONAL_ACCESS_TOKEN": true, "cookie": true, "session_id": true,
		"name": false, "monkey": false, "keyword": false, "keys_count": false, "author": false,
		"max_tokens": false, "passage": false, "query": false, "path": false, "id": false,
	} {
		corpus = append(corpus, name, name+"=abcdef", name+": abcdef", `"`+name+`": "abcdef"`)
	}
	for w := range secretWords {
		corpus = append(corpus, w, w+"=abcdef")
	}
	for _, f := range secretFragments {
		corpus = append(corpus, f, f+"=abcdef", strings.ToUpper(f)+": abcdef")
	}
	return corpus
}

// precheckPieces are what generated texts are made of: parts of secret
// names, separators, credential shapes and case-folding runes.
var precheckPieces = []string{
	"pass", "PA", "ss", "word", "pwd", "key", "KEY", "\u212a", "ſ", "s", "k", "e", "y", "secret", "tok", "en", "auth",
	"cred", "ential", "cookie", "sig", "bearer", "Bearer", "BASIC", "basic", "ba", "ic", "session", "id", "api", "_",
	".", "-", "=", ":", " ", "\t", "\n", `"`, "'", "://", "http", "@", "/", "sk-", "gh", "p", "o", "u", "r", "_",
	"github_pat_", "xox", "b-", "AKIA", "eyJ", "abcdefghijklmnop", "ABCDEFGHIJKLMNOP", "0123456789", "{", "}",
	"[", "]", ",", ";", "&", "é", Marker, "x", "monkey", "max_tokens", "{{steps.s1.result}}",
}

// TestPrecheckNeverMisses: the pre-checks never say "clean" for a text
// the full redactor would change, and skipping the patterns they rule out
// leaves Text byte-identical to running every pattern — over the package's
// test corpus and generated texts.
func TestPrecheckNeverMisses(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want := textAll(s)
		if got := Text(s); got != want {
			t.Fatalf("Text(%q) = %q, every pattern gives %q", s, got, want)
		}
		if Clean(s) && want != s {
			t.Fatalf("Clean(%q) = true, but Text changes it to %q", s, want)
		}
		if s != "" {
			if got, want := SecretName(s), secretWordsIn(s); got != want {
				t.Fatalf("SecretName(%q) = %v, without the pre-check %v", s, got, want)
			}
		}
	}
	corpus := precheckCorpus()
	for _, s := range corpus {
		check(s)
	}
	rng := rand.New(rand.NewPCG(15, 4))
	changed := 0
	for range 30000 {
		var b strings.Builder
		for range 1 + rng.IntN(10) {
			if rng.IntN(8) == 0 {
				b.WriteByte(byte(rng.IntN(256)))
				continue
			}
			b.WriteString(precheckPieces[rng.IntN(len(precheckPieces))])
		}
		s := b.String()
		if textAll(s) != s {
			changed++
		}
		check(s)
	}
	// The generator reaches the patterns (not only clean texts).
	if changed < 300 {
		t.Fatalf("only %d of 30000 generated texts are redacted at all", changed)
	}
}

// TestCleanKnownSecrets: a redactor's Clean also looks for its known
// secrets.
func TestCleanKnownSecrets(t *testing.T) {
	r := New("hunter22")
	if r.Clean("you said hunter22") {
		t.Error("Clean: a known secret is not clean")
	}
	if !r.Clean("you said hello") || !Clean("after {{steps.s0.status}}") {
		t.Error("Clean: ordinary text is not clean")
	}
	var none *Redactor
	if none.Clean("password=x") || !none.Clean("plain") {
		t.Error("nil redactor: Clean differs from the package's")
	}
}

// TestNeedlesCoverSecretNames: every secret word and fragment contains a
// needle, so the pre-check stays sound when the lists grow.
func TestNeedlesCoverSecretNames(t *testing.T) {
	all := append([]string{}, secretFragments...)
	for w := range secretWords {
		all = append(all, w)
	}
	for _, w := range all {
		if !hasSecretNeedle(w, false) {
			t.Errorf("no needle in secret name %q: add one to secretNeedles", w)
		}
	}
}

// TestCleanValueNeverMisses: CleanValue never says "clean" for a value
// Value would change (compared as JSON), with and without a schema, over
// values built from the corpus's texts and names.
func TestCleanValueNeverMisses(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","$defs":{"cred":{"type":"string","format":"password"}},
		"properties":{"dsn":{"type":"string","writeOnly":true},"login":{"$ref":"#/$defs/cred"},
		"hosts":{"type":"array","items":{"type":"object","properties":{"pw":{"allOf":[{"format":"password"}]}}}},
		"extra":{"type":"object","additionalProperties":{"type":"string","writeOnly":true}}}}`)
	corpus := precheckCorpus()
	names := []string{"dsn", "login", "hosts", "extra", "pw", "name", "query", "api_key", "max_tokens", "auth", "note"}
	rng := rand.New(rand.NewPCG(15, 5))
	var gen func(depth int) any
	gen = func(depth int) any {
		switch k := rng.IntN(9); {
		case k < 3 || depth > 2:
			return corpus[rng.IntN(len(corpus))]
		case k == 3:
			return json.Number("5")
		case k == 4:
			return nil
		case k == 5:
			return false
		case k == 6:
			if rng.IntN(4) == 0 {
				return []any(nil)
			}
			l := make([]any, rng.IntN(3))
			for i := range l {
				l[i] = gen(depth + 1)
			}
			return l
		default:
			if rng.IntN(6) == 0 {
				return map[string]any(nil)
			}
			m := map[string]any{}
			for range rng.IntN(4) {
				m[names[rng.IntN(len(names))]] = gen(depth + 1)
			}
			return m
		}
	}
	r := New("hunter22")
	clean := 0
	for i := range 20000 {
		v := gen(0)
		var sch json.RawMessage
		if i%2 == 0 {
			sch = schema
		}
		for _, red := range []*Redactor{nil, r} {
			if !red.CleanValue(v, sch) {
				continue
			}
			clean++
			before, _ := json.Marshal(v)
			after, _ := json.Marshal(red.Value(v, sch))
			if string(before) != string(after) {
				t.Fatalf("CleanValue(%s) = true, but Value gives %s", before, after)
			}
		}
	}
	if clean < 1000 {
		t.Fatalf("only %d generated values are clean: the test sees too few", clean)
	}
	// A secret name, a schema hint, a known secret are not clean.
	for _, tc := range []struct {
		v      any
		schema json.RawMessage
	}{
		{map[string]any{"token": "abc"}, nil},
		{map[string]any{"dsn": "host=db"}, schema},
		{[]any{"you said hunter22"}, nil},
	} {
		if r.CleanValue(tc.v, tc.schema) {
			t.Errorf("CleanValue(%v) = true", tc.v)
		}
	}
	if !r.CleanValue(map[string]any{"prev": map[string]any{}, "label": "after succeeded"}, nil) {
		t.Error("CleanValue: plain arguments are not clean")
	}
}
