// Package suggest proposes the name a user probably meant when they wrote
// one that does not exist ("did you mean …?"). It is the one typo suggester
// of the module: configuration fields, plan step ids and tool names all use
// it, so every message suggests by the same rule.
package suggest

// Closest returns the candidate nearest to word by edit distance
// (Levenshtein, counted in bytes), or "" when none is close enough. A
// candidate is close enough when its distance is at most max(2,
// len(word)/3): a typo or two in a short name, proportionally more in a
// long one. Ties go to the candidate that sorts first, so the answer does
// not depend on the order of candidates. A candidate equal to word is
// returned as is.
func Closest(word string, candidates []string) string {
	limit := max(2, len(word)/3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		d := Distance(word, c)
		if d < bestDist || d == bestDist && best != "" && c < best {
			best, bestDist = c, d
		}
	}
	return best
}

// Distance is the Levenshtein distance between a and b: the fewest byte
// insertions, deletions and substitutions that turn a into b.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
