package mcp

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// redactor removes secrets from text that may end up in an error, a health
// reason or a log line: upstream error messages and stderr often echo them.
// It removes the values weft knows to be secret (environment values, header
// values, URL credentials and query values of the configuration) and, since
// an upstream also prints secrets weft never saw (its own config files,
// tokens it obtained), anything that looks like one: see secretPatterns.
type redactor struct {
	secrets []string // longest first, so overlapping secrets redact fully
}

// Short values are not redacted: replacing "1", "true" or "debug" wherever
// it occurs would mangle messages without protecting anything. Header
// values and environment variables whose names look secret are redacted
// from minSecretLen bytes on, every other environment value from
// minEnvLen bytes on.
const (
	minSecretLen = 4
	minEnvLen    = 8
)

// secretName matches environment variable names that usually hold secrets.
var secretName = regexp.MustCompile(`(?i)(TOKEN|SECRET|PASS|KEY|AUTH|CRED|COOKIE|SESSION|PRIVATE|SIGNATURE)`)

func newRedactor(c Config) *redactor {
	var s []string
	add := func(v string) {
		if len(v) >= minSecretLen {
			s = append(s, v)
		}
	}
	for k, v := range c.Env {
		if secretName.MatchString(k) || len(v) >= minEnvLen {
			add(v)
		}
	}
	for _, v := range c.Headers {
		add(v)
		// "Bearer <token>": the token alone may be echoed too.
		if _, tok, ok := strings.Cut(v, " "); ok {
			add(tok)
		}
	}
	if u, err := url.Parse(c.URL); err == nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
			}
		}
	}
	slices.SortFunc(s, func(a, b string) int { return len(b) - len(a) })
	return &redactor{secrets: slices.Compact(s)}
}

// redacted replaces a secret.
const redacted = "[redacted]"

// secretPatterns match secrets by their shape, each with the replacement
// that keeps the text readable:
//
//   - the userinfo of a URL (scheme://user:password@host, scheme://token@host);
//   - HTTP credentials: "Bearer …", "Basic …";
//   - assignments whose name looks secret, in key=value, key: value and
//     JSON ("key": "value") form: password, passwd, pwd, secret, token,
//     key (api_key, apikey, access_key, …), auth, credential, cookie,
//     session, signature, private, with any prefix or suffix (DB_PASSWORD=,
//     x-api-key:, "refresh_token":);
//   - well-known token formats: OpenAI (sk-…), GitHub (ghp_…, gho_…,
//     github_pat_…), Slack (xox?-…), AWS access key ids (AKIA…), JWTs.
var secretPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'"<>]+@`), "${1}" + redacted + "@"},
	{regexp.MustCompile(`(?i)([A-Za-z0-9_.-]*(?:pass(?:wd|word)?|pwd|secret|token|key|auth|credential|cookie|session|signature|private)[A-Za-z0-9_.-]*["']?\s*[=:]\s*(?:(?:bearer|basic)\s+)?)("[^"]*"|'[^']*'|[^\s,;&"'}\])\[][^\s,;&"'}\]]*)`),
		"${1}" + redacted},
	{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}`), "${1} " + redacted},
	{regexp.MustCompile(`\b(?:sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})\b`),
		redacted},
}

// redact replaces every known secret, and everything that looks like one,
// in text with "[redacted]".
func (r *redactor) redact(text string) string {
	for _, s := range r.secrets {
		if strings.Contains(text, s) {
			text = strings.ReplaceAll(text, s, redacted)
		}
	}
	for _, p := range secretPatterns {
		text = p.re.ReplaceAllString(text, p.repl)
	}
	return text
}
