//go:build amd64 && !purego

package vector

import "golang.org/x/sys/cpu"

var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotAVX2 is the inner product of n float32s at a and b (AVX2 + FMA).
//
//go:noescape
func dotAVX2(a, b *float32, n int) float32

// dot is the inner product of two equally long vectors.
func dot(a, b []float32) float32 {
	if hasAVX2FMA && len(a) > 0 {
		b = b[:len(a)]
		return dotAVX2(&a[0], &b[0], len(a))
	}
	return dotGeneric(a, b)
}
