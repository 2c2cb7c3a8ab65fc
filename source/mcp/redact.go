package mcp

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// redactor removes secrets (environment values, header values, URL
// credentials and query values) from text that may end up in an error, a
// health reason or a log line: upstream error messages and stderr often echo
// them.
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

// redact replaces every secret in text with "[redacted]".
func (r *redactor) redact(text string) string {
	for _, s := range r.secrets {
		if strings.Contains(text, s) {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	return text
}
