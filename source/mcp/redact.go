package mcp

import (
	"net/url"
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

// minSecretLen avoids redacting short, common values ("1", "true") that
// would mangle messages without protecting anything.
const minSecretLen = 4

func newRedactor(c Config) *redactor {
	var s []string
	add := func(v string) {
		if len(v) >= minSecretLen {
			s = append(s, v)
		}
	}
	for _, v := range c.Env {
		add(v)
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
