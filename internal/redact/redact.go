// Package redact removes secrets from text and JSON before they are kept or
// shown: upstream errors and stderr, call logs, run records. It is weft's
// one redactor; every package that stores or prints what a tool, a program
// or an upstream handed it uses it.
//
// A secret is recognised three ways:
//
//   - by a value known to be secret (a configured environment value, header
//     or URL credential), given to New;
//   - by the name it is stored under (SecretName: password, token, api_key,
//     authorization, pgpass, private_key, …), whether a JSON property or the
//     left side of key=value / key: value text;
//   - by its shape (Text): URL userinfo, Bearer/Basic credentials and
//     well-known token formats (OpenAI, GitHub, Slack, AWS, JWT);
//
// and, for JSON with a JSON Schema, by the schema's hints (Value): a
// property with format "password" or writeOnly true.
package redact

import (
	"regexp"
	"slices"
	"strings"
)

// Marker replaces a secret.
const Marker = "[redacted]"

// MinSecretLen is the shortest known secret New keeps: replacing "1",
// "on" or "dev" wherever it occurs would mangle text without protecting
// anything.
const MinSecretLen = 4

// Redactor redacts known secret values in addition to everything Text
// recognises. The zero value and nil redact by name and shape only. A
// Redactor is safe for concurrent use.
type Redactor struct {
	secrets []string // longest first, so overlapping secrets redact fully
}

// New returns a redactor for the given known secret values (values shorter
// than MinSecretLen are ignored).
func New(secrets ...string) *Redactor {
	var s []string
	for _, v := range secrets {
		if len(v) >= MinSecretLen {
			s = append(s, v)
		}
	}
	slices.SortFunc(s, func(a, b string) int { return len(b) - len(a) })
	return &Redactor{secrets: slices.Compact(s)}
}

// Text replaces every known secret of r, and everything Text recognises,
// with Marker.
func (r *Redactor) Text(text string) string {
	if r != nil {
		for _, s := range r.secrets {
			if strings.Contains(text, s) {
				text = strings.ReplaceAll(text, s, Marker)
			}
		}
	}
	return Text(text)
}

// Patterns that recognise a secret by its shape.
var (
	// userinfo is the credential part of a URL: scheme://user:password@host
	// or scheme://token@host.
	userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'"<>]+@`)
	// assignment is name=value, name: value, "name": "value" — redacted
	// when SecretName(name); a Bearer/Basic scheme before the value is kept.
	assignment = regexp.MustCompile(`(?i)([A-Za-z0-9_.-]+)(["']?\s*[=:]\s*)((?:bearer|basic)\s+)?("[^"]*"|'[^']*'|[^\s,;&"'}\])\[][^\s,;&"'}\]]*)`)
	// scheme is an HTTP credential anywhere: "Bearer …", "Basic …".
	scheme = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}`)
	// tokenShape matches well-known token formats: OpenAI (sk-…), GitHub
	// (ghp_…, gho_…, github_pat_…), Slack (xox?-…), AWS access key ids
	// (AKIA…), JWTs.
	tokenShape = regexp.MustCompile(`\b(?:sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})\b`)
)

// Text replaces everything in text that looks like a secret with Marker:
// URL userinfo, the values of assignments whose name is secret
// (password=…, "apiKey": "…", x-api-key: …, PGPASS=…, Authorization:
// Bearer …), Bearer/Basic credentials and well-known token formats.
// Ordinary text (URLs without credentials, times, ports) is left alone.
func Text(text string) string {
	if text == "" {
		return text
	}
	// Each pattern runs only where its pre-check (precheck.go) says it may
	// match; after a pattern changed the text the checks look again.
	n := needs(text)
	if n&needUserinfo != 0 {
		if t := userinfo.ReplaceAllString(text, "${1}"+Marker+"@"); t != text {
			text, n = t, needs(t)
		}
	}
	if n&needAssignment != 0 {
		if t := redactAssignments(text); t != text {
			text, n = t, needs(t)
		}
	}
	if n&needScheme != 0 {
		if t := scheme.ReplaceAllString(text, "${1} "+Marker); t != text {
			text, n = t, needs(t)
		}
	}
	if n&needToken != 0 {
		text = tokenShape.ReplaceAllString(text, Marker)
	}
	return text
}

// redactAssignments replaces the values of assignments to secret names.
// An assignment to another name is skipped past its separator only, so
// "error:password=x" still finds password=x.
func redactAssignments(text string) string {
	var b strings.Builder
	pos, last := 0, 0
	for pos < len(text) {
		m := assignment.FindStringSubmatchIndex(text[pos:])
		if m == nil {
			break
		}
		for i := range m {
			if m[i] >= 0 {
				m[i] += pos
			}
		}
		if !SecretName(text[m[2]:m[3]]) || text[m[8]:m[9]] == Marker {
			pos = m[5]
			continue
		}
		b.WriteString(text[last:m[8]])
		b.WriteString(Marker)
		last, pos = m[9], m[9]
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// secretWords are the words of a name (split at separators and camelCase
// boundaries, lower-cased) that make it secret.
var secretWords = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "pass": true, "passphrase": true,
	"secret": true, "token": true, "key": true, "apikey": true,
	"auth": true, "authorization": true, "credential": true, "credentials": true,
	"cookie": true, "pgpass": true, "privatekey": true, "signature": true, "sig": true,
	"bearer": true,
}

// secretFragments make a name secret wherever they occur in it once
// separators are removed and it is lower-cased ("DBPASSWORD", "PGPASSFILE",
// "x_accesstoken").
var secretFragments = []string{
	"password", "passwd", "passphrase", "secret", "apikey", "authorization", "credential",
	"pgpass", "privatekey", "accesskey", "accesstoken", "refreshtoken", "authtoken", "idtoken",
	"sessionid", "sessiontoken", "clientsecret",
}

// SecretName reports whether a property, variable or header name usually
// holds a secret: password, passwd, pwd, secret, token, key, api_key,
// apiKey, authorization, auth, credential, cookie, pgpass, private_key,
// signature, … with any prefix or suffix word (DB_PASSWORD, x-api-key,
// refresh_token, GITHUB_PERSONAL_ACCESS_TOKEN). Words that merely contain
// one (monkey, keyword, author, max_tokens) are not secret.
func SecretName(name string) bool {
	return name != "" && hasSecretNeedle(name, true) && secretWordsIn(name)
}

// secretWordsIn is SecretName without its pre-check (hasSecretNeedle).
func secretWordsIn(name string) bool {
	var joined strings.Builder
	for _, w := range words(name) {
		if secretWords[w] {
			return true
		}
		joined.WriteString(w)
	}
	j := joined.String()
	for _, f := range secretFragments {
		if strings.Contains(j, f) {
			return true
		}
	}
	return false
}

// words splits a name at non-alphanumerics and camelCase boundaries
// ("xApiKey" → x, api, key; "DB_PASSWORD" → db, password) and lower-cases
// the words.
func words(name string) []string {
	var out []string
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			out = append(out, strings.ToLower(name[start:end]))
		}
		start = -1
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		upper := c >= 'A' && c <= 'Z'
		prev := name[i-1]
		prevLower := prev >= 'a' && prev <= 'z' || prev >= '0' && prev <= '9'
		nextLower := i+1 < len(name) && name[i+1] >= 'a' && name[i+1] <= 'z'
		prevUpper := prev >= 'A' && prev <= 'Z'
		// "apiKey" splits before K; "APIKey" splits before K (an acronym
		// ends where a capitalised word starts).
		if upper && (prevLower || prevUpper && nextLower) {
			flush(i)
			start = i
		}
	}
	flush(len(name))
	return out
}
