package search

import (
	"slices"
)

// HealthFunc returns a tool's rank factor from its health: 1 for a healthy
// tool, down to 0.5 for a failing tool or one whose upstream is down
// (analytics.ToolHealth.RankFactor). Values outside (0, 1] are clamped.
type HealthFunc func(name, server string) float64

// healthWiden is how many more candidates RankByHealth looks at when it
// demotes a result: demoted tools make room for ones just below the cut.
const healthWiden = 20

// RankByHealth is the health-aware ranking stage, run after a search (and
// after any cache of search answers, since health changes by the minute):
// run answers q; when every result is healthy (factor 1) its answer is
// returned as it is, so healthy catalogs rank exactly as without this
// stage. Otherwise q is run again for more candidates (k·2, at least
// k+20, at most MaxK), each score is multiplied by the tool's factor, the
// results are re-sorted (stable: equal scores keep their order) and cut
// to k. A nil health returns run(q).
func RankByHealth(q Query, health HealthFunc, run func(Query) (*Response, error)) (*Response, error) {
	resp, err := run(q)
	if err != nil || health == nil || resp == nil {
		return resp, err
	}
	factors := func(rs []Result) ([]float64, bool) {
		fs := make([]float64, len(rs))
		demoted := false
		for i, r := range rs {
			f := health(r.Name, r.Server)
			if !(f > 0) { // NaN, 0 or negative
				f = 0.5
			}
			fs[i] = min(f, 1)
			demoted = demoted || fs[i] < 1
		}
		return fs, demoted
	}
	if _, demoted := factors(resp.Results); !demoted {
		return resp, nil
	}
	k := q.k()
	wider := q
	wider.K = min(MaxK, max(2*k, k+healthWiden))
	if wider.K > len(resp.Results) && len(resp.Results) == k {
		if wresp, werr := run(wider); werr == nil && wresp != nil {
			resp = wresp
		}
	}
	fs, _ := factors(resp.Results)
	type scored struct {
		r Result
		s float64
	}
	all := make([]scored, len(resp.Results))
	for i, r := range resp.Results {
		r.Score *= fs[i]
		all[i] = scored{r, r.Score}
	}
	slices.SortStableFunc(all, func(a, b scored) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		}
		return 0
	})
	out := &Response{Degraded: resp.Degraded, Results: make([]Result, 0, min(k, len(all)))}
	for _, s := range all[:min(k, len(all))] {
		out.Results = append(out.Results, s.r)
	}
	return out, nil
}
