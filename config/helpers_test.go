package config

import (
	"errors"
	"strings"
	"testing"
)

// envOf returns an Env function backed by m (and nothing else).
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// doc joins lines with newlines, so that line i of the file is lines[i-1].
func doc(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

// mustParse parses a weft.yaml or fails the test.
func mustParse(t *testing.T, data []byte, env map[string]string) *Config {
	t.Helper()
	c, err := Parse("weft.yaml", data, envOf(env))
	if err != nil {
		t.Fatalf("Parse: unexpected error:\n%v", err)
	}
	return c
}

// parseErr parses a weft.yaml that must fail and returns the error text,
// checking that the error is an *Error.
func parseErr(t *testing.T, data []byte, env map[string]string) string {
	t.Helper()
	_, err := Parse("weft.yaml", data, envOf(env))
	if err == nil {
		t.Fatalf("Parse: want an error, got none")
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse: error is %T, want *config.Error", err)
	}
	return err.Error()
}
