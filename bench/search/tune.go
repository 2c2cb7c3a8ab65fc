package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/search/eval"
)

// experiment is one ranking configuration the tune mode measures against
// DefaultParams.
type experiment struct {
	name string
	set  func(p *search.Params)
}

// experiments are the configurations tune mode knows; -exp selects them by
// name prefix. Every one is a general ranking technique: none names a data
// set, a query or a tool.
var experiments = []experiment{
	{"default", func(*search.Params) {}},
	// Ablations: each idea of the defaults taken out again.
	{"without bigrams", func(p *search.Params) { p.Bigram = 0 }},
	{"without relax", func(p *search.Params) { p.Relax = false }},
	{"with k1=1.2", func(p *search.Params) { p.K1 = 1.2 }},
	{"with description.b=0.75", func(p *search.Params) { p.Description.B = 0.75 }},
	{"without prefixes", func(p *search.Params) { p.Prefix = 0 }},
	{"before (issue 15)", func(p *search.Params) {
		p.Bigram, p.Relax, p.K1, p.Description.B = 0, false, 1.2, 0.75
	}},
	// Neighbours of the defaults.
	{"bigram=0.25", func(p *search.Params) { p.Bigram = 0.25 }},
	{"bigram=1", func(p *search.Params) { p.Bigram = 1 }},
	{"k1=2", func(p *search.Params) { p.K1 = 2 }},
	{"name.w=2", func(p *search.Params) { p.Name.Weight = 2 }},
	{"name.w=4", func(p *search.Params) { p.Name.Weight = 4 }},
	{"name.b=0.25", func(p *search.Params) { p.Name.B = 0.25 }},
	{"description.w=1.5", func(p *search.Params) { p.Description.Weight = 1.5 }},
	{"param_descriptions.w=0.5", func(p *search.Params) { p.ParamDescriptions.Weight = 0.5 }},
	{"server_boost=0.5", func(p *search.Params) { p.ServerBoost = 0.5 }},
	{"query_tf_power=0", func(p *search.Params) { p.QueryTFPower = 0 }},
	{"prefix=0.3", func(p *search.Params) { p.Prefix = 0.3 }},
	{"prefix=0.7", func(p *search.Params) { p.Prefix = 0.7 }},
	{"prefix_len=4", func(p *search.Params) { p.PrefixLen = 4 }},
	{"prefix_len=6", func(p *search.Params) { p.PrefixLen = 6 }},
}

// runTune evaluates the experiments whose names start with one of the
// comma-separated prefixes in sel (all when empty) on every dev set, in
// folds folds of each set's queries, and prints Recall@5 per fold and in
// all, with the difference to the default configuration.
func runTune(ctx context.Context, w io.Writer, dir, sel string, folds int) error {
	sets, err := dataSets(dir)
	if err != nil {
		return err
	}
	var chosen []experiment
	for _, e := range experiments {
		if e.name == "default" || sel == "" {
			chosen = append(chosen, e)
			continue
		}
		for _, pre := range strings.Split(sel, ",") {
			if pre != "" && strings.HasPrefix(e.name, pre) {
				chosen = append(chosen, e)
				break
			}
		}
	}
	type score struct{ r5, ndcg float64 }
	measure := func(e experiment, set string, fold int) (score, error) {
		p := search.DefaultParams()
		e.set(&p)
		r, err := eval.Run(ctx, eval.Options{Dir: set, Folds: folds, Fold: fold, Index: search.Options{Params: &p}})
		if err != nil {
			return score{}, err
		}
		return score{r.Recall[5], r.NDCG10}, nil
	}
	fmt.Fprintf(w, "Recall@5 per fold (%d folds by query id) and nDCG@10 of all; Δ against default\n", folds)
	fmt.Fprintf(w, "%-28s", "experiment")
	for _, set := range sets {
		fmt.Fprintf(w, " | %-36s", filepath.Base(set))
	}
	fmt.Fprintln(w)
	base := map[string][]score{}
	for _, e := range chosen {
		fmt.Fprintf(w, "%-28s", e.name)
		for _, set := range sets {
			var ss []score
			var all score
			for f := range folds {
				s, err := measure(e, set, f)
				if err != nil {
					return err
				}
				ss = append(ss, s)
				all.r5 += s.r5 / float64(folds)
				all.ndcg += s.ndcg / float64(folds)
			}
			ss = append(ss, all)
			if e.name == "default" {
				base[set] = ss
			}
			cell := ""
			for i, s := range ss[:folds] {
				cell += fmt.Sprintf("%+.3f ", s.r5-base[set][i].r5)
			}
			cell += fmt.Sprintf("R5 %.3f nD %.3f", all.r5, all.ndcg)
			fmt.Fprintf(w, " | %-36s", cell)
		}
		fmt.Fprintln(w)
	}
	return nil
}
