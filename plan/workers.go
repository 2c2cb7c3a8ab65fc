package plan

import (
	"time"
)

// Steps run on warm workers rather than a fresh goroutine each: a new
// goroutine starts with a small stack that the call path (engine, JSON)
// grows again on every step — a quarter of the per-step CPU in profiles.
// A worker that finished a step waits for the next one for workerIdle,
// then exits, so an idle process holds no workers.

// stepJob is one step of one run for a worker.
type stepJob struct {
	st *runState
	cs *cstep
}

// stepWork hands a job to an idle worker. Unbuffered: a send succeeds
// only when a worker is waiting, else launchStep starts a new one.
var stepWork = make(chan stepJob)

// workerIdle is how long a worker waits for another step before exiting.
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
	var t *time.Timer
	for {
		j.st.runStep(j.cs)
		j = stepJob{}
		if t == nil {
			t = time.NewTimer(workerIdle)
		} else {
			t.Reset(workerIdle)
		}
		select {
		case j = <-stepWork:
			t.Stop()
		case <-t.C:
			return
		}
	}
}
