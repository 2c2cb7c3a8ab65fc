package vector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestMemorySearch(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	err := m.Upsert(ctx, []string{"x", "y", "xy", "neg"}, [][]float32{{1, 0}, {0, 2}, {1, 1}, {-1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := m.Search(ctx, []float32{3, 0.1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"x", "xy", "y"}
	if len(hits) != 3 {
		t.Fatalf("got %d hits", len(hits))
	}
	for i, h := range hits {
		if h.ID != want[i] {
			t.Fatalf("hit %d = %s, want %s (%v)", i, h.ID, want[i], hits)
		}
	}
	if s := hits[0].Score; s < 0.99 || s > 1.0001 {
		t.Errorf("cosine of x = %v, want ~0.9994", s)
	}
	// Replace, delete, dimension checks.
	if err := m.Upsert(ctx, []string{"neg"}, [][]float32{{1, 0.01}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, []string{"x", "missing"}); err != nil {
		t.Fatal(err)
	}
	hits, _ = m.Search(ctx, []float32{1, 0}, 1)
	if hits[0].ID != "neg" || m.Len() != 3 {
		t.Errorf("after replace+delete: %v, len %d", hits, m.Len())
	}
	if err := m.Upsert(ctx, []string{"z"}, [][]float32{{1, 2, 3}}); err == nil {
		t.Error("wrong dimension accepted")
	}
	if err := m.Upsert(ctx, []string{"z"}, [][]float32{{0, 0}}); err == nil {
		t.Error("zero vector accepted")
	}
	if _, err := m.Search(ctx, []float32{1}, 1); err == nil {
		t.Error("wrong query dimension accepted")
	}
}

func randomStore(n, dim int) (*Memory, []float32) {
	r := rand.New(rand.NewPCG(1, 2))
	m := NewMemory()
	ids := make([]string, n)
	vecs := make([][]float32, n)
	for i := range vecs {
		ids[i] = fmt.Sprint("t", i)
		vecs[i] = make([]float32, dim)
		for j := range vecs[i] {
			vecs[i][j] = float32(r.NormFloat64())
		}
	}
	m.Upsert(context.Background(), ids, vecs)
	q := make([]float32, dim)
	for j := range q {
		q[j] = float32(r.NormFloat64())
	}
	return m, q
}

// BenchmarkSearch is the dense top-10 over 10,000 vectors of 1,536 dimensions.
func BenchmarkSearch(b *testing.B) {
	m, q := randomStore(10_000, 1536)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Search(ctx, q, 10); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDotMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 3, 7, 8, 9, 31, 32, 33, 100, 1536} {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		got, want := dot(a, b), dotGeneric(a, b)
		if d := got - want; d > 1e-3 || d < -1e-3 {
			t.Errorf("n=%d: dot %v, generic %v", n, got, want)
		}
	}
}
