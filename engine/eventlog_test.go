package engine_test

import (
	"sync"

	"github.com/weft-dev/weft/engine"
)

// eventLog is a test Recorder that keeps every event.
type eventLog struct {
	mu     sync.Mutex
	events []engine.Event
}

func (l *eventLog) Record(e engine.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// Events returns the events recorded so far, oldest first.
func (l *eventLog) Events() []engine.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]engine.Event(nil), l.events...)
}

// discardEvents is a Recorder for benchmarks: it drops events.
type discardEvents struct{}

func (discardEvents) Record(engine.Event) {}
