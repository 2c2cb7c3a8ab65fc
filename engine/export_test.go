package engine

import "context"

// OnWheel reports whether ctx is a call's context still on the deadline
// wheel (for tests outside the package).
func OnWheel(ctx context.Context) bool {
	c, ok := ctx.(*deadlineCtx)
	if !ok {
		return false
	}
	theWheel.mu.Lock()
	defer theWheel.mu.Unlock()
	return c.idx >= 0
}
