//go:build !amd64 || purego

package vector

// dot is the inner product of two equally long vectors.
func dot(a, b []float32) float32 { return dotGeneric(a, b) }
