package search

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weft-dev/weft/internal/testenv"
)

var updateBaseline = flag.Bool("update-baseline", false, "rewrite testdata/baseline.json from this run")

// devSets returns the toolbench data folders; the test fails when they are missing.
func devSets(t testing.TB) []string {
	t.Helper()
	root := filepath.Join(testenv.RepoRoot(), "..", "shared", "toolbench-data")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("toolbench data missing at %s: %v", root, err)
	}
	var dirs []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(root, e.Name(), "queries.jsonl")); err == nil && e.IsDir() {
			dirs = append(dirs, filepath.Join(root, e.Name()))
		}
	}
	if len(dirs) == 0 {
		t.Fatalf("no toolbench data sets under %s", root)
	}
	return dirs
}

// baseline is testdata/baseline.json: dev Recall@5 per data set.
type baseline map[string]float64

func TestReferenceBM25Reproduces(t *testing.T) {
	// The README's published dev numbers for the plain-BM25 reference.
	want := map[string][2]float64{
		"livemcpbench": {0.261, 0.308},
		"sealtools":    {0.679, 0.707},
		"metatool":     {0.410, 0.362},
	}
	for _, dir := range devSets(t) {
		name := filepath.Base(dir)
		w, ok := want[name]
		if !ok {
			continue
		}
		r, err := Evaluate(context.Background(), EvalOptions{Dir: dir, Engine: &ReferenceBM25{}})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r.Recall[5]-w[0]) > 0.0005 || math.Abs(r.NDCG10-w[1]) > 0.0005 {
			t.Errorf("%s: reference R@5 %.4f nDCG@10 %.4f, README says %.3f / %.3f", name, r.Recall[5], r.NDCG10, w[0], w[1])
		}
	}
}

func TestEvalRegression(t *testing.T) {
	path := filepath.Join("testdata", "baseline.json")
	base := baseline{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &base); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	} else if !*updateBaseline {
		t.Fatalf("%s: %v (run with -update-baseline to create it)", path, err)
	}
	got := baseline{}
	for _, dir := range devSets(t) {
		r, err := Evaluate(context.Background(), EvalOptions{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		r.WriteText(&sb)
		t.Log("\n" + sb.String())
		got[r.Dataset] = math.Round(r.Recall[5]*1000) / 1000
		if b, ok := base[r.Dataset]; ok && r.Recall[5] < b-0.02 {
			t.Errorf("%s: dev Recall@5 %.3f dropped more than 0.02 below the baseline %.3f", r.Dataset, r.Recall[5], b)
		} else if !ok && !*updateBaseline {
			t.Errorf("%s: no baseline in %s; run with -update-baseline", r.Dataset, path)
		}
	}
	if *updateBaseline {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
