package weft

import "time"

// The tests of the shared cache run beside the whole suite under -race:
// a Redis operation of a replica may take longer than the production
// bound there, which would turn a sharing test into a fallback.
func init() { redisOpTimeout = 10 * time.Second }
