// Package testenv locates the real components the test suite runs against
// (npm MCP servers installed by scripts/test.sh, a Redis server started by
// it) and fails the test — never skips — when one is missing.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// NPMBin returns the path of an executable installed from
// internal/testenv/npm/package.json (e.g. "mcp-server-everything"). The test
// fails if it is missing: run scripts/test.sh (or `npm ci --prefix
// internal/testenv/npm`) first.
func NPMBin(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(), "internal", "testenv", "npm", "node_modules", ".bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testenv: %s is not installed (%v); run scripts/test.sh or `npm ci --prefix internal/testenv/npm`", name, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("testenv: node is not on PATH: %v", err)
	}
	return p
}

// RedisURL returns the URL of the Redis server started for the tests
// (WEFT_TEST_REDIS_URL, set by scripts/test.sh). The test fails when unset.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("WEFT_TEST_REDIS_URL")
	if u == "" {
		t.Fatal("testenv: WEFT_TEST_REDIS_URL is not set; run the suite through scripts/test.sh, which starts redis-server")
	}
	return u
}
