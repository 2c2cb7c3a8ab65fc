package search

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

var debugSet = flagString("debug-set", "", "print per-query rankings of this data set")

func TestDebugRankings(t *testing.T) {
	if *debugSet == "" {
		t.Skip("development aid")
	}
	dir := filepath.Join(filepath.Dir(devSets(t)[0]), *debugSet)
	ds, err := loadDataset(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	e := &IndexEngine{}
	e.Build(context.Background(), ds.tools)
	for _, q := range ds.queries[:min(len(ds.queries), 30)] {
		ranked, _ := e.Rank(context.Background(), q.text, 8)
		fmt.Printf("\nQ: %.300s\n  gold:", q.text)
		for n := range q.relevant {
			fmt.Printf(" %s", n)
		}
		fmt.Printf("\n  terms: %v\n", Tokens(q.text))
		for i, n := range ranked {
			mark := " "
			if q.relevant[n] {
				mark = "*"
			}
			fmt.Printf("  %s%d %s\n", mark, i+1, n)
		}
	}
}
