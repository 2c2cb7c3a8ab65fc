package eval

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/weft-dev/weft/internal/testenv"
)

var updateBaseline = flag.Bool("update-baseline", false, "rewrite search/testdata/baseline.json from this run")

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
		r, err := Run(context.Background(), Options{Dir: dir, Engine: &ReferenceBM25{}})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r.Recall[5]-w[0]) > 0.0005 || math.Abs(r.NDCG10-w[1]) > 0.0005 {
			t.Errorf("%s: reference R@5 %.4f nDCG@10 %.4f, README says %.3f / %.3f", name, r.Recall[5], r.NDCG10, w[0], w[1])
		}
	}
}

func TestEvalRegression(t *testing.T) {
	path := filepath.Join("..", "testdata", "baseline.json")
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
		r, err := Run(context.Background(), Options{Dir: dir})
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

// refusing fails on queries containing "email" and ranks every other query
// with the wrapped engine.
type refusing struct{ Engine }

func (r refusing) Rank(ctx context.Context, text string, k int) ([]string, error) {
	if strings.Contains(text, "email") {
		return nil, errors.New("query refused")
	}
	return r.Engine.Rank(ctx, text, k)
}

func TestRunCarriesOnAfterAFailedQuery(t *testing.T) {
	r, err := Run(context.Background(), Options{Dir: filepath.Join("testdata", "tiny"), Engine: refusing{&IndexEngine{}}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []FailedQuery{{ID: "q2", Chars: 18, Error: "query refused"}}
	if !reflect.DeepEqual(r.Failed, want) {
		t.Errorf("Failed = %+v, want %+v", r.Failed, want)
	}
	// Three dev queries; the failed one counts as a miss.
	if r.Queries != 3 || math.Abs(r.Recall[1]-2.0/3) > 1e-9 || math.Abs(r.MRR10-2.0/3) > 1e-9 {
		t.Errorf("queries %d, Recall@1 %.4f, MRR@10 %.4f; want 3, 0.6667, 0.6667", r.Queries, r.Recall[1], r.MRR10)
	}
	var sb strings.Builder
	if err := r.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	if line := "  FAILED     query q2 (18 characters), counted as a miss: query refused\n"; !strings.Contains(sb.String(), line) {
		t.Errorf("text report lacks %q:\n%s", line, sb.String())
	}
}

func TestRunRejectsUnknownSplit(t *testing.T) {
	_, err := Run(context.Background(), Options{Dir: filepath.Join("testdata", "tiny"), Split: "train"})
	if err == nil || err.Error() != `eval: split "train" is unknown; use dev, test or all` {
		t.Fatalf("err = %v", err)
	}
}

func TestRunFoldsPartitionTheQueries(t *testing.T) {
	dir := filepath.Join("testdata", "tiny")
	all, err := Run(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// FNV-1a of q1, q2, q3 modulo 2 puts q2 in fold 0 and q1, q3 in fold 1.
	var total int
	var recall float64
	for fold, want := range []int{1, 2} {
		r, err := Run(context.Background(), Options{Dir: dir, Folds: 2, Fold: fold, Passes: 3})
		if err != nil {
			t.Fatal(err)
		}
		if r.Queries != want {
			t.Errorf("fold %d has %d queries, want %d", fold, r.Queries, want)
		}
		total += r.Queries
		recall += r.Recall[5] * float64(r.Queries)
	}
	if total != all.Queries || math.Abs(recall/float64(total)-all.Recall[5]) > 1e-9 {
		t.Errorf("folds hold %d queries with Recall@5 %.4f; all: %d, %.4f", total, recall/float64(total), all.Queries, all.Recall[5])
	}
	_, err = Run(context.Background(), Options{Dir: dir, Folds: 2, Fold: 2})
	if err == nil || err.Error() != "eval: fold 2 is outside 0..1" {
		t.Errorf("fold 2 of 2: err = %v", err)
	}
}
