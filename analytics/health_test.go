package analytics

import (
	"math"
	"testing"
	"time"

	"github.com/weft-dev/weft/engine"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestHealthScore checks the documented formula: success (ok+1)/(n+1)
// over recency-weighted calls, latency 1-0.5·m/(m+10s), ratings only
// demote, a down upstream scores 0, caller faults are not counted.
func TestHealthScore(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := NewHealth()
	h.now = func() time.Time { return now }
	if got := h.Tool("s__never", false); got.Score != 1 || got.RankFactor() != 1 {
		t.Fatalf("a tool never called: %+v, want score 1", got)
	}
	call := func(tool string, at time.Time, d time.Duration, out engine.Outcome, code engine.Code) {
		h.Record(engine.Event{Tool: tool, Server: "s", Start: at.Add(-d), Duration: d, Outcome: out, Code: code})
	}
	// 3 ok and 1 failure now, each 10 s: success (3+1)/(4+1) = 0.8, latency 0.75.
	for range 3 {
		call("s__a", now, 10*time.Second, engine.OutcomeOK, "")
	}
	call("s__a", now, 10*time.Second, engine.OutcomeError, engine.CodeUpstream)
	// Caller faults say nothing about the tool.
	call("s__a", now, time.Second, engine.OutcomeError, engine.CodeInvalidArguments)
	call("s__a", now, time.Second, engine.OutcomeError, engine.CodeCanceled)
	got := h.Tool("s__a", false)
	if !near(got.Success, 0.8) || !near(got.Latency, 0.75) || !near(got.Score, 0.6) || got.Calls != 4 || got.Failures != 1 {
		t.Fatalf("s__a: %+v, want success 0.8, latency 0.75, score 0.6, 4 calls, 1 failure", got)
	}
	if got.Healthy() || !near(got.RankFactor(), 0.5+0.6/1.6) {
		t.Errorf("s__a rank factor %v", got.RankFactor())
	}
	if d := h.Tool("s__a", true); d.Score != 0 || !d.Down || d.RankFactor() != 0.5 {
		t.Errorf("down upstream: %+v, want score 0, rank factor 0.5", d)
	}
	// Recency: a failure one half-life ago weighs half: (0+1)/(0.5+1).
	call("s__old", now.Add(-HealthHalfLife), 0, engine.OutcomeToolError, "")
	if got := h.Tool("s__old", false); !near(got.Success, 1/1.5) {
		t.Errorf("old failure: success %v, want %v", got.Success, 1/1.5)
	}
	// Ratings: a smoothed mean of 3 or more changes nothing; 1s demote.
	h.SetRating("s__never", 10, 5)
	if got := h.Tool("s__never", false); got.Score != 1 || got.Ratings != 10 {
		t.Errorf("well rated: %+v", got)
	}
	h.SetRating("s__never", 2, 1) // smoothed (2·1+6)/4 = 2: factor 0.8
	if got := h.Tool("s__never", false); !near(got.Rating, 0.8) || !near(got.Score, 0.8) {
		t.Errorf("badly rated: %+v, want rating factor 0.8", got)
	}
	// The server's score covers every tool of it.
	if s := h.Server("s", false); s.Calls != 5 || s.Failures != 2 {
		t.Errorf("server: %+v, want 5 calls, 2 failures", s)
	}
}
