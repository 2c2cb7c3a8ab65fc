package main_test

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDoctorCommand: weft doctor --json reports every check and exits 1
// when one fails (an unreachable Redis), 0 when none does; the text form
// prints the fix under a failure.
func TestDoctorCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("limits:\n  redis_url: redis://"+dead+"/0\n"), 0o600)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("limits:\n  tool_timeout: 20s\n"), 0o600)

	r := run(t, filepath.Join(dir, "cache"), "doctor", "--json", "--config", bad)
	var rep struct {
		OK       bool `json:"ok"`
		Findings []struct {
			Check, Status, Reason, Fix string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if r.code != 1 || rep.OK {
		t.Fatalf("exit %d ok %v, want 1 false\n%s", r.code, rep.OK, r.stdout)
	}
	checks := map[string]string{}
	for _, f := range rep.Findings {
		checks[f.Check] = f.Status
	}
	for check, status := range map[string]string{"config": "ok", "timeouts": "ok", "cache dir": "ok", "redis limits.redis_url": "fail", "credentials": "ok", "clock": "ok", "upstreams": "warn"} {
		if checks[check] != status {
			t.Errorf("%s: %q, want %q (all: %v)", check, checks[check], status, checks)
		}
	}
	r = run(t, filepath.Join(dir, "cache"), "doctor", "--config", bad)
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  redis limits.redis_url") || !strings.Contains(r.stdout, "fix: start Redis or correct the URL") || !strings.HasSuffix(r.stdout, "1 fail\n") {
		t.Fatalf("text: exit %d\n%s", r.code, r.stdout)
	}
	if r = run(t, filepath.Join(dir, "cache"), "doctor", "--config", good); r.code != 0 {
		t.Fatalf("a healthy configuration: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
