package embed

import (
	"fmt"
	"sync/atomic"
)

// dimension is the vector length of a model, fixed by configuration or by
// the first vector seen.
type dimension struct{ n atomic.Int64 }

func (d *dimension) set(n int) { d.n.Store(int64(n)) }
func (d *dimension) get() int  { return int(d.n.Load()) }

// check fixes the dimension on first use and rejects vectors of another length.
func (d *dimension) check(n int) error {
	if n == 0 {
		return fmt.Errorf("embed: empty embedding")
	}
	if d.n.CompareAndSwap(0, int64(n)) {
		return nil
	}
	if want := d.get(); want != n {
		return fmt.Errorf("embed: got a %d-dimensional embedding, want %d", n, want)
	}
	return nil
}
