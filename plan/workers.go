package plan

import (
	"time"
)

// Steps run on warm workers rather than a fresh goroutine each: a new
// goroutine starts with a small stack that the call path (engine, JSON)
// grows again on every step — a quarter of the per-step CPU in profiles.
// A worker that ran no step for a whole workerIdle period (between one and
// two of them after its last step) exits, so an idle process holds no
// workers; the period's timer is not reset per step, which would cost
// every step a timer update.

// stepJob is one step of one run for a worker.
type stepJob struct {
	st *runState
	cs *cstep
}

// stepWork hands a job to an idle worker. Unbuffered: a send succeeds
// only when a worker is waiting, else launchStep starts a new one.
var stepWork = make(chan stepJob)

// workerIdle is the period after which a worker that ran no step exits.
const workerIdle = time.Second

// launchStep runs j.st.runStep(j.cs) on an idle worker or a new one.
func launchStep(j stepJob) {
	select {
	case stepWork <- j:
	default:
		go stepWorker(j)
	}
}

func stepWorker(j stepJob) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		j.st.runStep(j.cs)
		j = stepJob{}
		busy := true // ran a step in the current period
		for j.st == nil {
			select {
			case j = <-stepWork:
			case <-t.C:
				if !busy {
					return
				}
				busy = false
				t.Reset(workerIdle)
			}
		}
	}
}
