package search

import (
	"context"
	"flag"
	"fmt"
	"testing"
)

var tune = flag.Bool("tune", false, "run the parameter sweep (development aid)")

var refR5 = map[string][2]float64{"livemcpbench": {0.261, 0.308}, "sealtools": {0.679, 0.707}, "metatool": {0.410, 0.362}}

func evalAll(t *testing.T, label string, p Params) {
	line := fmt.Sprintf("%-28s", label)
	minGain := 9.0
	for _, dir := range devSets(t) {
		r, err := Evaluate(context.Background(), EvalOptions{Dir: dir, Index: Options{Params: &p}})
		if err != nil {
			t.Fatal(err)
		}
		ref := refR5[r.Dataset]
		line += fmt.Sprintf(" | %s R1 %.3f R5 %.3f(%+.3f) R10 %.3f nDCG %.3f(%+.3f)", r.Dataset[:4], r.Recall[1], r.Recall[5], r.Recall[5]-ref[0], r.Recall[10], r.NDCG10, r.NDCG10-ref[1])
		minGain = min(minGain, r.Recall[5]-ref[0])
	}
	fmt.Printf("%s | min %+.3f\n", line, minGain)
}

func TestTune(t *testing.T) {
	if !*tune {
		t.Skip("development aid; run with -tune")
	}
	base := DefaultParams()
	evalAll(t, "default", base)
	for _, exp := range experiments(base) {
		evalAll(t, exp.name, exp.p)
	}
	stemmer = porterStem
	evalAll(t, "porter", base)
	stemmer = func(s string) string { return s }
	evalAll(t, "no stemming", base)
	stemmer = stem
	saved := requestWords
	requestWords = map[string]bool{}
	evalAll(t, "no request words", base)
	requestWords = saved
}

type experiment struct {
	name string
	p    Params
}

func experiments(b Params) []experiment {
	var out []experiment
	add := func(name string, f func(p *Params)) {
		p := b
		f(&p)
		out = append(out, experiment{name, p})
	}
	for _, g := range []float64{0, 0.3, 0.6, 2, 4} {
		add(fmt.Sprintf("coverage=%g", g), func(p *Params) { p.Coverage = g })
	}
	for _, g := range []int{15, 60} {
		add(fmt.Sprintf("coverage depth=%d", g), func(p *Params) { p.CoverageDepth = g })
	}
	return out
}

func flagString(name, def, usage string) *string { return flag.String(name, def, usage) }
