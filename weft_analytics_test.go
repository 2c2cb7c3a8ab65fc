package weft_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// mirrors are two servers with the same weather tool (near-duplicates:
// the same name and description); fail makes server "a"'s copy fail.
func mirrors(fail *bool) (a, b *function.Source) {
	type city struct {
		City string `json:"city" jsonschema:"the city"`
	}
	mk := func(name string, failing *bool) *function.Source {
		src := function.New(name, "weather service")
		function.Must(function.Add(src, "forecast", "Weather forecast for a city: temperature and rain",
			func(_ context.Context, c city) (string, error) {
				if failing != nil && *failing {
					return "", errors.New("backend unavailable")
				}
				return "sunny in " + c.City, nil
			}))
		return src
	}
	return mk("mirror_a", fail), mk("mirror_b", nil)
}

func analyticsOrchestrator(t *testing.T, edit func(*config.Config), srcs ...source.Source) *weft.Orchestrator {
	t.Helper()
	cfg := baseConfig(t)
	if edit != nil {
		edit(cfg)
	}
	o, err := weft.New(weft.Options{Config: cfg, Offline: true, Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o
}

func ranked(t *testing.T, o *weft.Orchestrator, q string) []string {
	t.Helper()
	resp, err := o.Search(context.Background(), search.Query{Text: q, K: 5})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range resp.Results {
		names = append(names, r.Name)
	}
	return names
}

// TestHealthAwareRanking: of two near-duplicate tools, the copy that fails
// its calls ranks below the healthy one; while both are healthy the
// ranking is the plain search's. A tool whose upstream is down is demoted
// likewise, and /readyz's health (Readiness) shows the failing server.
func TestHealthAwareRanking(t *testing.T) {
	const q = "weather forecast for a city"
	fail := false
	a, b := mirrors(&fail)
	o := analyticsOrchestrator(t, nil, a, b)
	healthy := ranked(t, o, q)
	if len(healthy) != 2 || healthy[0] != "mirror_a__forecast" {
		t.Fatalf("healthy ranking %v: want both copies, mirror_a's first (equal scores keep catalog order)", healthy)
	}
	// Successful calls of both keep the ranking exactly as it was.
	ctx := context.Background()
	for _, name := range healthy {
		for range 3 {
			if _, err := o.Call(ctx, name, []byte(`{"city":"Oslo"}`), weft.CallerAPI); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := ranked(t, o, q); fmt.Sprint(got) != fmt.Sprint(healthy) {
		t.Fatalf("after healthy calls: %v, want %v", got, healthy)
	}
	// mirror_a's copy starts failing.
	fail = true
	for range 5 {
		res, err := o.Call(ctx, "mirror_a__forecast", []byte(`{"city":"Oslo"}`), weft.CallerAPI)
		if err == nil && !res.IsError {
			t.Fatal("the failing copy succeeded")
		}
	}
	if got := ranked(t, o, q); len(got) != 2 || got[0] != "mirror_b__forecast" {
		t.Fatalf("with mirror_a failing: %v, want mirror_b__forecast first", got)
	}
	h := o.ToolHealth("mirror_a__forecast", "mirror_a")
	if h.Healthy() || h.Failures != 5 || h.Calls != 8 {
		t.Errorf("mirror_a__forecast health %+v: want unhealthy, 5 failures of 8 calls", h)
	}
	rd := o.Readiness()
	if rd.Health["mirror_a"].Healthy() || !rd.Health["mirror_b"].Healthy() {
		t.Errorf("readiness health %+v", rd.Health)
	}
}

// TestDownUpstreamDemoted: a tool whose upstream is down ranks below its
// healthy twin, and scores 0.
func TestDownUpstreamDemoted(t *testing.T) {
	const q = "weather forecast for a city"
	a, b := mirrors(nil)
	o := analyticsOrchestrator(t, nil, a, b)
	if got := ranked(t, o, q); len(got) != 2 || got[0] != "mirror_a__forecast" {
		t.Fatalf("healthy ranking %v", got)
	}
	a.Close()
	if got := ranked(t, o, q); len(got) != 2 || got[0] != "mirror_b__forecast" {
		t.Fatalf("with mirror_a down: %v, want mirror_b__forecast first", got)
	}
	if h := o.ToolHealth("mirror_a__forecast", "mirror_a"); h.Score != 0 || !h.Down {
		t.Errorf("down tool health %+v", h)
	}
}

// TestRateToolAndStats: a rating needs a tool the caller may see (a hidden
// one is ErrNotFound, like a missing one); one rating per client, the
// latest wins; ToolStats reads the calls and ratings from the database,
// and a fresh orchestrator on the same database sees them (health too).
func TestRateToolAndStats(t *testing.T) {
	a, b := mirrors(nil)
	dir := t.TempDir()
	edit := func(c *config.Config) { c.Analytics.DBPath = dir + "/analytics.db" }
	o := analyticsOrchestrator(t, edit, a, b)
	ctx := context.Background()
	for range 4 {
		if _, err := o.Call(ctx, "mirror_a__forecast", []byte(`{"city":"Oslo"}`), weft.CallerAPI); err != nil {
			t.Fatal(err)
		}
	}
	scoped := weft.WithScope(weft.WithClient(ctx, "k1"), weft.Scope{Servers: []string{"mirror_b"}})
	if _, err := o.RateTool(scoped, "mirror_a__forecast", 5, ""); !errors.Is(err, weft.ErrNotFound) {
		t.Fatalf("rating a hidden tool: %v, want ErrNotFound", err)
	}
	if _, err := o.RateTool(scoped, "mirror_x__nope", 5, ""); !errors.Is(err, weft.ErrNotFound) {
		t.Fatalf("rating a missing tool: %v, want ErrNotFound", err)
	}
	if _, err := o.RateTool(scoped, "mirror_b__forecast", 1, "wrong city"); err != nil {
		t.Fatal(err)
	}
	sum, err := o.RateTool(scoped, "mirror_b__forecast", 2, "")
	if err != nil || sum.Count != 1 || sum.Mean != 2 {
		t.Fatalf("re-rating: %+v, %v: want one rating of 2", sum, err)
	}
	if sum, err = o.RateTool(weft.WithClient(ctx, "k2"), "mirror_b__forecast", 1, ""); err != nil || sum.Count != 2 || sum.Mean != 1.5 {
		t.Fatalf("second client: %+v, %v", sum, err)
	}
	// Smoothed mean (2+1+6)/4 = 2.25: rating factor 0.85.
	if h := o.ToolHealth("mirror_b__forecast", "mirror_b"); h.Rating < 0.849 || h.Rating > 0.851 || h.Ratings != 2 {
		t.Errorf("rated health %+v", h)
	}
	rows, err := o.ToolStats(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Tool != "mirror_a__forecast" || rows[0].Calls != 4 || rows[0].FailureRate != 0 ||
		rows[0].Health < 0.99 || rows[1].Tool != "mirror_b__forecast" || rows[1].Calls != 0 || rows[1].Ratings != 2 {
		t.Fatalf("stats %+v", rows)
	}
	o.Close()
	// A fresh process on the same database: the calls and ratings are there.
	a2, b2 := mirrors(nil)
	o2 := analyticsOrchestrator(t, edit, a2, b2)
	if h := o2.ToolHealth("mirror_a__forecast", "mirror_a"); h.Calls != 4 {
		t.Errorf("health after restart %+v: want the 4 calls replayed", h)
	}
	if h := o2.ToolHealth("mirror_b__forecast", "mirror_b"); h.Ratings != 2 {
		t.Errorf("health after restart %+v: want the 2 ratings", h)
	}
}

// TestRatingsNeedSQLite: without the sqlite backend, ratings say how to
// enable them.
func TestRatingsNeedSQLite(t *testing.T) {
	a, b := mirrors(nil)
	o := analyticsOrchestrator(t, func(c *config.Config) { c.Analytics.Backends = []string{"prometheus"} }, a, b)
	if _, err := o.RateTool(context.Background(), "mirror_a__forecast", 3, ""); !errors.Is(err, weft.ErrRatingsUnavailable) {
		t.Fatalf("%v, want ErrRatingsUnavailable", err)
	}
}
