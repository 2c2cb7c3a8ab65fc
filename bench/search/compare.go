package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/weft-dev/weft/search/eval"
)

// runCompare evaluates weft, bleve and the plain-BM25 reference on every
// dev set under dir in the same run and prints quality and latency with
// weft/bleve ratios.
func runCompare(ctx context.Context, w io.Writer, dir string) error {
	sets, err := dataSets(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "GOMAXPROCS=%d, dev splits\n", runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "%-13s %-15s %6s %6s %6s %8s %7s %10s %10s %10s\n", "set", "engine", "R@1", "R@5", "R@10", "nDCG@10", "MRR@10", "p50", "p99", "build")
	for _, set := range sets {
		var weft, blv *eval.Report
		for _, eng := range []eval.Engine{&eval.IndexEngine{}, &bleveEngine{}, &eval.ReferenceBM25{}} {
			r, err := eval.Run(ctx, eval.Options{Dir: set, Engine: eng})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%-13s %-15s %6.3f %6.3f %6.3f %8.3f %7.3f %10s %10s %10s\n", r.Dataset, r.Engine,
				r.Recall[1], r.Recall[5], r.Recall[10], r.NDCG10, r.MRR10, round(r.LatencyP50), round(r.LatencyP99), round(r.BuildTime))
			switch eng.(type) {
			case *eval.IndexEngine:
				weft = r
			case *bleveEngine:
				blv = r
			}
		}
		fmt.Fprintf(w, "%-13s %-15s R@5 %.2fx  nDCG@10 %.2fx  p50 latency %.2fx (bleve/weft: weft is %.1fx faster)  build %.2fx\n", "", "weft / bleve",
			weft.Recall[5]/max(blv.Recall[5], 1e-9), weft.NDCG10/max(blv.NDCG10, 1e-9),
			float64(weft.LatencyP50)/float64(blv.LatencyP50), float64(blv.LatencyP50)/float64(weft.LatencyP50),
			float64(weft.BuildTime)/float64(blv.BuildTime))
	}
	return nil
}

// dataSets lists the folders under dir that hold queries.jsonl.
func dataSets(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
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
