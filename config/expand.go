package config

import (
	"fmt"
	"strings"
)

// expandError says why a value could not be expanded. It never holds the
// value of a variable.
type expandError struct {
	missing []string // unset variables without a default
	msg     string   // a syntax problem
}

func (e *expandError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	if len(e.missing) == 1 {
		v := e.missing[0]
		return fmt.Sprintf("environment variable %s is not set (set it, or give a default: ${%s:-value})", v, v)
	}
	return fmt.Sprintf("environment variables %s are not set (set them, or give defaults: ${NAME:-value})", strings.Join(e.missing, ", "))
}

// expand replaces ${VAR} and ${VAR:-default} in s with values from env and
// $$ with a literal $. ${VAR:-default} uses default when VAR is unset or
// empty; ${env:VAR} (VS Code's spelling) means ${VAR}. A $ followed by
// anything else is kept as written. It reports whether s held any
// reference or escape, i.e. whether the result differs from the source text.
func expand(s string, env func(string) (string, bool)) (out string, changed bool, err error) {
	if !strings.Contains(s, "$") {
		return s, false, nil
	}
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			changed = true
			continue
		case '{':
		default:
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", true, &expandError{msg: "unterminated ${ (close it with }, or write $$ for a literal $)"}
		}
		ref := s[i+2 : i+2+end]
		i += 2 + end
		changed = true
		name, def, hasDef := strings.Cut(ref, ":-")
		if strings.HasPrefix(name, "input:") {
			return "", true, &expandError{msg: fmt.Sprintf("${%s}: VS Code input variables are not supported (use ${VAR} with an environment variable)", name)}
		}
		name = strings.TrimPrefix(name, "env:")
		if !isVarName(name) {
			return "", true, &expandError{msg: fmt.Sprintf("${%s}: not a variable name (allowed: letters, digits and _, not starting with a digit)", name)}
		}
		v, ok := env(name)
		switch {
		case hasDef && (!ok || v == ""):
			b.WriteString(def)
		case ok:
			b.WriteString(v)
		default:
			missing = append(missing, name)
		}
	}
	if missing != nil {
		return "", true, &expandError{missing: missing}
	}
	return b.String(), changed, nil
}

func isVarName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
