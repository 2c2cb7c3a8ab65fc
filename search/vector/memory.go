// Package vector holds tool vectors for dense retrieval. Memory, the
// default store, keeps every vector in one contiguous float32 array and
// answers with an exact cosine scan.
package vector

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/weft-dev/weft/search"
)

// Memory is an in-memory, exact-cosine search.VectorStore. Vectors are
// normalised on insert, so a search is one dot product per stored vector
// and allocates nothing but its result. It is safe for concurrent use.
type Memory struct {
	mu   sync.RWMutex
	dim  int
	ids  []string
	pos  map[string]int
	data []float32 // len(ids)*dim, row i is ids[i]'s unit vector
}

var _ search.VectorStore = (*Memory)(nil)

// NewMemory returns an empty store; its dimension is fixed by the first Upsert.
func NewMemory() *Memory { return &Memory{pos: make(map[string]int)} }

// Len is the number of vectors stored.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.ids)
}

// Upsert implements search.VectorStore. All vectors must have the store's
// dimension; zero vectors are rejected (they have no direction).
func (m *Memory) Upsert(_ context.Context, ids []string, vecs [][]float32) error {
	if len(ids) != len(vecs) {
		return fmt.Errorf("vector: %d ids for %d vectors", len(ids), len(vecs))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, v := range vecs {
		if m.dim == 0 {
			m.dim = len(v)
		}
		if len(v) != m.dim || len(v) == 0 {
			return fmt.Errorf("vector: %q has %d dimensions, the store holds %d", ids[i], len(v), m.dim)
		}
		norm := float32(math.Sqrt(float64(dot(v, v))))
		if norm == 0 || math.IsNaN(float64(norm)) {
			return fmt.Errorf("vector: %q is a zero or NaN vector", ids[i])
		}
		row, ok := m.pos[ids[i]]
		if !ok {
			row = len(m.ids)
			m.pos[ids[i]] = row
			m.ids = append(m.ids, ids[i])
			m.data = append(m.data, make([]float32, m.dim)...)
		}
		dst := m.data[row*m.dim : (row+1)*m.dim]
		for j, x := range v {
			dst[j] = x / norm
		}
	}
	return nil
}

// Delete implements search.VectorStore (swap-remove, O(1) per id).
func (m *Memory) Delete(_ context.Context, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		row, ok := m.pos[id]
		if !ok {
			continue
		}
		last := len(m.ids) - 1
		if row != last {
			copy(m.data[row*m.dim:(row+1)*m.dim], m.data[last*m.dim:])
			m.ids[row] = m.ids[last]
			m.pos[m.ids[row]] = row
		}
		m.ids = m.ids[:last]
		m.data = m.data[:last*m.dim]
		delete(m.pos, id)
	}
	return nil
}

// Search implements search.VectorStore: the k stored vectors of highest
// cosine similarity to q, best first (ties in insertion order).
func (m *Memory) Search(ctx context.Context, q []float32, k int) ([]search.VectorHit, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.ids) == 0 || k <= 0 {
		return nil, nil
	}
	if len(q) != m.dim {
		return nil, fmt.Errorf("vector: query has %d dimensions, the store holds %d", len(q), m.dim)
	}
	qn := float32(math.Sqrt(float64(dot(q, q))))
	if qn == 0 {
		return nil, fmt.Errorf("vector: zero query vector")
	}
	k = min(k, len(m.ids))
	h := make(minHeap, 0, k)
	for row := range m.ids {
		if row&4095 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s := dot(q, m.data[row*m.dim:(row+1)*m.dim])
		if len(h) < k {
			h.push(entry{row: int32(row), score: s})
		} else if s > h[0].score {
			h[0] = entry{row: int32(row), score: s}
			h.down(0)
		}
	}
	out := make([]search.VectorHit, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		e := h.pop()
		out[i] = search.VectorHit{ID: m.ids[e.row], Score: e.score / qn}
	}
	return out, nil
}

// dotGeneric is the inner product of two equally long vectors, unrolled
// eight ways with independent accumulators (and no bounds checks in the
// loop). dot uses it where no SIMD version is available.
func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(a) >= 8 {
		x, y := a[:8:8], b[:8:8]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
		a, b = a[8:], b[8:]
	}
	for i := range a {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

type entry struct {
	row   int32
	score float32
}

// minHeap keeps the best k entries with the worst on top; on equal scores
// the later row is worse.
type minHeap []entry

func less(a, b entry) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.row > b.row
}

func (h *minHeap) push(e entry) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !less(s[i], s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *minHeap) pop() entry {
	s := *h
	top := s[0]
	s[0] = s[len(s)-1]
	*h = s[:len(s)-1]
	h.down(0)
	return top
}

func (h minHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && less(h[r], h[l]) {
			m = r
		}
		if !less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
