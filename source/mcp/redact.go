package mcp

import (
	"net/url"
	"strings"

	"github.com/weft-dev/weft/internal/redact"
)

// redactor removes secrets from text that may end up in an error, a health
// reason or a log line: upstream error messages and stderr often echo them.
// It redacts the values weft knows to be secret (environment values, header
// values, URL credentials and query values of the configuration) and, since
// an upstream also prints secrets weft never saw, anything that looks like
// one (internal/redact, weft's one redactor).
type redactor struct {
	r *redact.Redactor
}

// minEnvLen: environment variables whose names look secret are redacted
// from redact.MinSecretLen bytes on, every other environment value from
// minEnvLen bytes on ("1", "true", "debug" stay readable).
const minEnvLen = 8

func newRedactor(c Config) *redactor {
	var s []string
	for k, v := range c.Env {
		if redact.SecretName(k) || len(v) >= minEnvLen {
			s = append(s, v)
		}
	}
	for _, v := range c.Headers {
		s = append(s, v)
		// "Bearer <token>": the token alone may be echoed too.
		if _, tok, ok := strings.Cut(v, " "); ok {
			s = append(s, tok)
		}
	}
	if u, err := url.Parse(c.URL); err == nil {
		if p, ok := u.User.Password(); ok {
			s = append(s, p)
		}
		for _, vs := range u.Query() {
			s = append(s, vs...)
		}
	}
	return &redactor{r: redact.New(s...)}
}

// redact replaces every known secret, and everything that looks like one,
// in text with "[redacted]".
func (r *redactor) redact(text string) string { return r.r.Text(text) }
