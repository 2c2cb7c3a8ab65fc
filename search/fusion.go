package search

import (
	"fmt"
	"slices"
)

// FusionMethod names a way of combining lexical and dense rankings.
type FusionMethod string

const (
	// FusionRRF is reciprocal rank fusion: score = Σ w / (RRFK + rank).
	// It ignores score magnitudes, so a confident lexical match counts no
	// more than a weak one.
	FusionRRF FusionMethod = "rrf"
	// FusionWeighted min-max normalises each list's scores to [0, 1] and
	// adds them with weights (1-DenseWeight, DenseWeight): a convex
	// combination, the default (see docs/search.md for why).
	FusionWeighted FusionMethod = "weighted"
)

// Fusion configures hybrid fusion. Zero fields take DefaultFusion's values.
type Fusion struct {
	// Method is FusionWeighted (default) or FusionRRF.
	Method FusionMethod `json:"method,omitempty"`
	// RRFK is the rank constant of RRF (default 60).
	RRFK float64 `json:"rrf_k,omitempty"`
	// DenseWeight in (0, 1] is the dense side's share (default 0.3).
	DenseWeight float64 `json:"dense_weight,omitempty"`
	// Candidates is how many results each retriever contributes (default 50).
	Candidates int `json:"candidates,omitempty"`
}

// DefaultFusion is the normalised weighted sum with the dense side at 0.3,
// over the top 50 of each side (RRF k = 60 when RRF is chosen).
func DefaultFusion() Fusion {
	return Fusion{Method: FusionWeighted, RRFK: 60, DenseWeight: 0.3, Candidates: 50}
}

func (f Fusion) withDefaults() Fusion {
	d := DefaultFusion()
	if f.Method == "" {
		f.Method = d.Method
	}
	if f.RRFK == 0 {
		f.RRFK = d.RRFK
	}
	if f.DenseWeight == 0 {
		f.DenseWeight = d.DenseWeight
	}
	if f.Candidates == 0 {
		f.Candidates = d.Candidates
	}
	return f
}

func (f Fusion) validate() error {
	switch {
	case f.Method != "" && f.Method != FusionRRF && f.Method != FusionWeighted:
		return fmt.Errorf("search: fusion method %q is unknown; use %q or %q", f.Method, FusionRRF, FusionWeighted)
	case f.DenseWeight < 0 || f.DenseWeight > 1:
		return fmt.Errorf("search: fusion dense weight %v is outside [0, 1]", f.DenseWeight)
	case f.RRFK < 0 || f.Candidates < 0:
		return fmt.Errorf("search: fusion rrf_k and candidates must not be negative")
	}
	return nil
}

// fuse combines two best-first lists into the k best.
func (f Fusion) fuse(lex, dense []hit, k int) []hit {
	scores := make(map[uint32]float64, len(lex)+len(dense))
	add := func(list []hit, w float64) {
		if len(list) == 0 {
			return
		}
		lo, hi := list[len(list)-1].score, list[0].score
		for rank, h := range list {
			switch f.Method {
			case FusionWeighted:
				v := 1.0
				if hi > lo {
					v = float64(h.score-lo) / float64(hi-lo)
				}
				scores[h.doc] += w * v
			default:
				scores[h.doc] += w / (f.RRFK + float64(rank+1))
			}
		}
	}
	add(lex, 1-f.DenseWeight)
	add(dense, f.DenseWeight)
	out := make([]hit, 0, len(scores))
	for d, s := range scores {
		out = append(out, hit{doc: d, score: float32(s)})
	}
	slices.SortFunc(out, func(a, b hit) int {
		switch {
		case worse(b, a):
			return -1
		case worse(a, b):
			return 1
		}
		return 0
	})
	return out[:min(k, len(out))]
}
