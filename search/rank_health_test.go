package search_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/search/eval"
)

// healthEngine is weft's index behind the health-aware ranking stage.
type healthEngine struct {
	eval.IndexEngine
	health search.HealthFunc
}

func (e *healthEngine) Name() string { return "weft+health" }

func (e *healthEngine) Rank(ctx context.Context, text string, k int) ([]string, error) {
	resp, err := search.RankByHealth(search.Query{Text: text, K: k}, e.health, func(q search.Query) (*search.Response, error) {
		return e.Index().Search(ctx, q)
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(resp.Results))
	for i, r := range resp.Results {
		out[i] = r.Name
	}
	return out, nil
}

// TestHealthStageKeepsRecall: with every tool healthy, the health stage
// changes no metric on any dev set of ../shared/toolbench-data (the data
// the search quality gate uses; missing data fails).
func TestHealthStageKeepsRecall(t *testing.T) {
	data := filepath.Join("..", "..", "shared", "toolbench-data")
	sets, _ := filepath.Glob(filepath.Join(data, "*", "queries.jsonl"))
	if len(sets) == 0 {
		t.Fatalf("no data set under %s (the dev splits of the tool-retrieval benchmarks)", data)
	}
	healthy := func(string, string) float64 { return 1 }
	for _, q := range sets {
		dir := filepath.Dir(q)
		ctx := context.Background()
		plain, err := eval.Run(ctx, eval.Options{Dir: dir, Engine: &eval.IndexEngine{}})
		if err != nil {
			t.Fatal(err)
		}
		staged, err := eval.Run(ctx, eval.Options{Dir: dir, Engine: &healthEngine{health: healthy}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: Recall@5 %.4f plain, %.4f with the health stage (all healthy); nDCG@10 %.4f / %.4f",
			filepath.Base(dir), plain.Recall[5], staged.Recall[5], plain.NDCG10, staged.NDCG10)
		if plain.Recall[5] != staged.Recall[5] || plain.Recall[1] != staged.Recall[1] || plain.NDCG10 != staged.NDCG10 || plain.MRR10 != staged.MRR10 {
			t.Errorf("%s: metrics changed: plain %+v, staged %+v", dir, plain.Recall, staged.Recall)
		}
	}
}

// TestRankByHealthDemotes: an unhealthy result moves below healthy ones
// whose scores its factor takes it under; a wider search brings in the
// candidate just below the cut; healthy results keep their order.
func TestRankByHealthDemotes(t *testing.T) {
	var tools []catalog.Tool
	for _, n := range []string{"alpha", "beta", "gamma"} {
		tools = append(tools, catalog.Tool{Server: "s", Original: "weather_" + n, Description: "weather forecast " + n})
	}
	ix, err := search.New(catalog.NewSnapshot(tools), search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var asked []int
	run := func(q search.Query) (*search.Response, error) {
		asked = append(asked, q.K)
		return ix.Search(context.Background(), q)
	}
	plain, err := run(search.Query{Text: "weather forecast", K: 2})
	if err != nil || len(plain.Results) != 2 {
		t.Fatal(plain, err)
	}
	first := plain.Results[0].Name
	asked = nil
	got, err := search.RankByHealth(search.Query{Text: "weather forecast", K: 2}, func(name, _ string) float64 {
		if name == first {
			return 0.5
		}
		return 1
	}, run)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 2 || got.Results[0].Name == first || got.Results[1].Name == first {
		t.Fatalf("with %s unhealthy: %+v (asked k=%v), want the two others", first, got.Results, asked)
	}
	if len(asked) != 2 || asked[1] != 22 {
		t.Errorf("searches asked k=%v, want [2 22]", asked)
	}
	asked = nil
	same, _ := search.RankByHealth(search.Query{Text: "weather forecast", K: 2}, func(string, string) float64 { return 1 }, run)
	if len(asked) != 1 || same.Results[0].Name != first {
		t.Errorf("all healthy: asked %v, results %+v", asked, same.Results)
	}
}
