package main_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStatsAndRate: calls made by `weft call` land in the analytics
// database under cache.dir; `weft rate` stores a rating (bad ratings and
// unknown tools are usage errors); `weft stats --json` reports per tool
// calls, failure rate, latency percentiles, ratings and health.
func TestStatsAndRate(t *testing.T) {
	cfgPath, cache := writeConfig(t, failingUpstream(t))
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"call", "fail__explode", "--config", cfgPath}, 1, "", ""},
		{[]string{"call", "everything__echo", "--args", `{"message":"hi"}`, "--config", cfgPath}, 0, "Echo: hi", ""},
		{[]string{"rate", "fail__explode", "2", "--comment", "flaky", "--config", cfgPath}, 0, "rated fail__explode 2/5", ""},
		{[]string{"rate", "fail__explode", "9", "--config", cfgPath}, 2, "", `rating "9": must be an integer from 1 to 5`},
		{[]string{"rate", "fail__nope", "3", "--config", cfgPath}, 2, "", `tool "fail__nope": not found`},
		{[]string{"stats", "--config", cfgPath}, 0, "TOOL", ""},
	} {
		r := run(t, cache, c.args...)
		if r.code != c.code || !strings.Contains(r.stdout, c.stdout) || !strings.Contains(r.stderr, c.stderr) {
			t.Fatalf("weft %s: exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout with %q, stderr with %q",
				strings.Join(c.args, " "), r.code, r.stdout, r.stderr, c.code, c.stdout, c.stderr)
		}
	}
	r := run(t, cache, "stats", "--json", "--config", cfgPath)
	if r.code != 0 {
		t.Fatalf("stats --json: %d %s", r.code, r.stderr)
	}
	var out struct {
		Database string `json:"database"`
		Tools    []struct {
			Tool        string  `json:"tool"`
			Calls       int     `json:"calls"`
			FailureRate float64 `json:"failure_rate"`
			P95MS       float64 `json:"p95_ms"`
			Ratings     int     `json:"ratings"`
			RatingMean  float64 `json:"rating_mean"`
			Health      float64 `json:"health"`
		} `json:"tools"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, r.stdout)
	}
	if len(out.Tools) != 2 || !strings.HasSuffix(out.Database, "/analytics.db") {
		t.Fatalf("stats: %s", r.stdout)
	}
	echo, fail := out.Tools[0], out.Tools[1]
	if echo.Tool != "everything__echo" || echo.Calls != 1 || echo.FailureRate != 0 || echo.P95MS <= 0 || echo.Health < 0.99 {
		t.Errorf("everything__echo: %+v", echo)
	}
	// One failure of one call: success (0+1)/(1+1) = 0.5; one rating of 2:
	// smoothed (2+6)/3, rating factor 0.6+0.2·(8/3-1). The failure's
	// weight decays (half-life analytics.HealthHalfLife, an hour) in the
	// seconds between the call and stats, which lifts the score a little:
	// 1% allows for a minute and a half of a slow machine.
	if fail.Tool != "fail__explode" || fail.Calls != 1 || fail.FailureRate != 1 || fail.Ratings != 1 || fail.RatingMean != 2 ||
		fail.Health > 0.5*(0.6+0.2*(8.0/3-1))*1.01 {
		t.Errorf("fail__explode: %+v", fail)
	}
}
