package mcp

import (
	"math/rand/v2"
	"time"
)

// backoff returns the delay before reconnection attempt n (1-based): base
// doubled n-1 times, capped at max, with "equal jitter" (a uniformly random
// delay in [d/2, d]) so that many upstreams failing together do not retry
// in lockstep.
func backoff(n int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
