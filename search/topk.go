package search

// hit is a scored tool (index into the snapshot).
type hit struct {
	doc   uint32
	score float32
	// fields are the fields the lexical engine matched the query in, when
	// it scored the tool (0: not known, e.g. a tool only the dense side
	// found).
	fields uint16
}

// worse orders hits: lower score first, and on equal scores the later tool
// (so ties go to catalog order, deterministically).
func worse(a, b hit) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.doc > b.doc
}

// topK keeps the k best hits in a min-heap on worse.
type topK struct {
	k int
	h []hit
}

func (t *topK) reset(k int) { t.k, t.h = k, t.h[:0] }

// full reports whether k hits are held; then min() is the one to beat.
func (t *topK) full() bool { return len(t.h) >= t.k }

func (t *topK) min() hit { return t.h[0] }

// push offers x.
func (t *topK) push(x hit) {
	if t.k <= 0 {
		return
	}
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		for i := len(t.h) - 1; i > 0; {
			p := (i - 1) / 2
			if !worse(t.h[i], t.h[p]) {
				break
			}
			t.h[i], t.h[p] = t.h[p], t.h[i]
			i = p
		}
		return
	}
	if !worse(t.h[0], x) {
		return
	}
	t.h[0] = x
	t.down(0)
}

func (t *topK) down(i int) {
	n := len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && worse(t.h[r], t.h[l]) {
			m = r
		}
		if !worse(t.h[m], t.h[i]) {
			return
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

// sorted returns the hits best first, emptying the heap.
func (t *topK) sorted() []hit {
	out := make([]hit, len(t.h))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = t.h[0]
		last := len(t.h) - 1
		t.h[0] = t.h[last]
		t.h = t.h[:last]
		t.down(0)
	}
	return out
}
