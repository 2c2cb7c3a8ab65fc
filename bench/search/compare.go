package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/weft-dev/weft/search/eval"
)

// compareResult is compare mode's outcome (its -json form).
type compareResult struct {
	GOMAXPROCS int          `json:"gomaxprocs"`
	Passes     int          `json:"passes"`
	Sets       []compareSet `json:"sets"`
}

// compareSet is one data set's engines, weft first, then bleve's variants
// (the default first), then the plain-BM25 reference.
type compareSet struct {
	Dataset string          `json:"dataset"`
	Tools   int             `json:"tools"`
	Queries int             `json:"queries"`
	Engines []compareEngine `json:"engines"`
	// VsBleve compares weft with bleve's default variant.
	VsBleve compareRatio `json:"vs_bleve"`
}

// compareEngine is one engine's numbers on one set.
type compareEngine struct {
	Engine     string        `json:"engine"`
	Recall1    float64       `json:"recall_at_1"`
	Recall5    float64       `json:"recall_at_5"`
	Recall10   float64       `json:"recall_at_10"`
	NDCG10     float64       `json:"ndcg_at_10"`
	MRR10      float64       `json:"mrr_at_10"`
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
	BuildTime  time.Duration `json:"build_time_ns"`
}

// compareRatio is weft against bleve's default variant, same run.
type compareRatio struct {
	Recall5Delta float64 `json:"recall_at_5_delta"`
	NDCG10Delta  float64 `json:"ndcg_at_10_delta"`
	MRR10Delta   float64 `json:"mrr_at_10_delta"`
	// Speedup is bleve's median query latency over weft's, both from the
	// paired measurement.
	Speedup float64 `json:"speedup_p50"`
	// Paired times both engines in alternating passes.
	Paired paired `json:"paired"`
}

// paired is the latency of two engines measured in alternating passes over
// a set's queries (weft's pass, bleve's pass, weft's, …): each engine runs
// warm through a whole pass, and a load on the machine that comes and goes
// weighs on both alike. Per-query ratios pair each query's times from the
// same round.
type paired struct {
	Samples    int           `json:"samples"`
	WeftP50    time.Duration `json:"weft_p50_ns"`
	BleveP50   time.Duration `json:"bleve_p50_ns"`
	Speedup    float64       `json:"speedup_p50"`
	RatioP50   float64       `json:"per_query_ratio_p50"`
	RatioRange [2]float64    `json:"per_query_ratio_p10_p90"`
}

// pairedLatency times the built engines w and b over the queries of set in
// alternating passes, passes rounds.
func pairedLatency(ctx context.Context, set string, w, b eval.Engine, passes int) (paired, error) {
	qs, err := eval.Queries(set, "dev")
	if err != nil {
		return paired{}, err
	}
	pass := func(e eval.Engine) []time.Duration {
		out := make([]time.Duration, len(qs))
		for i, q := range qs {
			t0 := time.Now()
			if _, err := e.Rank(ctx, q, 10); err != nil {
				out[i] = -1
				continue
			}
			out[i] = time.Since(t0)
		}
		return out
	}
	var wl, bl []time.Duration
	var ratios []float64
	for range passes {
		wp, bp := pass(w), pass(b)
		for i := range qs {
			if wp[i] < 0 || bp[i] < 0 {
				continue
			}
			wl, bl = append(wl, wp[i]), append(bl, bp[i])
			ratios = append(ratios, float64(bp[i])/float64(max(wp[i], 1)))
		}
	}
	if len(wl) == 0 {
		return paired{}, fmt.Errorf("%s: no query answered by both engines", set)
	}
	slices.Sort(wl)
	slices.Sort(bl)
	slices.Sort(ratios)
	p := paired{Samples: len(wl), WeftP50: pct(wl, 0.5), BleveP50: pct(bl, 0.5)}
	p.Speedup = float64(p.BleveP50) / float64(max(p.WeftP50, 1))
	at := func(q float64) float64 { return ratios[min(len(ratios)-1, int(q*float64(len(ratios))))] }
	p.RatioP50, p.RatioRange = at(0.5), [2]float64{at(0.1), at(0.9)}
	return p, nil
}

// runCompare evaluates weft, bleve's variants (the default first) and the
// plain-BM25 reference on every dev set under dir in the same run: quality
// from one pass, query latency over passes passes, and weft against bleve's
// default variant timed in alternating passes.
func runCompare(ctx context.Context, dir string, passes int, variants []bleveVariant) (*compareResult, error) {
	sets, err := dataSets(dir)
	if err != nil {
		return nil, err
	}
	out := &compareResult{GOMAXPROCS: runtime.GOMAXPROCS(0), Passes: passes}
	for _, set := range sets {
		engines := []eval.Engine{&eval.IndexEngine{}}
		for _, v := range variants {
			engines = append(engines, &bleveEngine{variant: v})
		}
		engines = append(engines, &eval.ReferenceBM25{})
		var cs compareSet
		for _, eng := range engines {
			p := passes
			if _, ok := eng.(*eval.ReferenceBM25); ok {
				p = 1
			}
			r, err := eval.Run(ctx, eval.Options{Dir: set, Engine: eng, Passes: p})
			if err != nil {
				return nil, err
			}
			cs.Dataset, cs.Tools, cs.Queries = r.Dataset, r.Tools, r.Queries
			cs.Engines = append(cs.Engines, compareEngine{
				Engine: r.Engine, Recall1: r.Recall[1], Recall5: r.Recall[5], Recall10: r.Recall[10],
				NDCG10: r.NDCG10, MRR10: r.MRR10,
				LatencyP50: r.LatencyP50, LatencyP99: r.LatencyP99, BuildTime: r.BuildTime,
			})
		}
		w, b := cs.Engines[0], cs.Engines[1]
		cs.VsBleve = compareRatio{
			Recall5Delta: w.Recall5 - b.Recall5, NDCG10Delta: w.NDCG10 - b.NDCG10, MRR10Delta: w.MRR10 - b.MRR10,
		}
		if cs.VsBleve.Paired, err = pairedLatency(ctx, set, engines[0], engines[1], passes); err != nil {
			return nil, err
		}
		cs.VsBleve.Speedup = cs.VsBleve.Paired.Speedup
		out.Sets = append(out.Sets, cs)
	}
	return out, nil
}

// writeText prints the comparison for people.
func (c *compareResult) writeText(w io.Writer) {
	fmt.Fprintf(w, "GOMAXPROCS=%d, dev splits, latency over %d passes\n", c.GOMAXPROCS, c.Passes)
	fmt.Fprintf(w, "%-13s %-18s %6s %6s %6s %8s %7s %10s %10s %10s\n", "set", "engine", "R@1", "R@5", "R@10", "nDCG@10", "MRR@10", "p50", "p99", "build")
	for _, s := range c.Sets {
		for _, e := range s.Engines {
			fmt.Fprintf(w, "%-13s %-18s %6.3f %6.3f %6.3f %8.3f %7.3f %10s %10s %10s\n", s.Dataset, e.Engine,
				e.Recall1, e.Recall5, e.Recall10, e.NDCG10, e.MRR10, round(e.LatencyP50), round(e.LatencyP99), round(e.BuildTime))
		}
		v := s.VsBleve
		fmt.Fprintf(w, "%-13s %-18s R@5 %+.3f  nDCG@10 %+.3f  MRR@10 %+.3f\n", "", "weft - bleve",
			v.Recall5Delta, v.NDCG10Delta, v.MRR10Delta)
		fmt.Fprintf(w, "%-13s %-18s alternating passes, %d samples each: p50 weft %s, bleve %s: weft %.1fx faster (per query: median %.1fx, p10-p90 %.1f-%.1fx)\n", "", "latency",
			v.Paired.Samples, round(v.Paired.WeftP50), round(v.Paired.BleveP50), v.Speedup, v.Paired.RatioP50, v.Paired.RatioRange[0], v.Paired.RatioRange[1])
	}
}

// writeJSON prints the comparison as JSON.
func (c *compareResult) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// dataSets lists the folders under dir that hold queries.jsonl.
func dataSets(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("toolbench data: %w", err)
	}
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "queries.jsonl")); e.IsDir() && err == nil {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no data sets under %s", dir)
	}
	return out, nil
}
