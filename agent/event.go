package agent

import (
	"sync"
	"time"

	"github.com/weft-dev/weft/plan"
)

// Event types, in the order a request produces them.
const (
	// EventCandidates: search picked the plan strategy's candidate tools (Tools, All).
	EventCandidates = "candidates"
	// EventModelCall: a model call finished (Purpose, Usage, FinishReason; Error when it failed).
	EventModelCall = "model_call"
	// EventPlan: the model wrote a plan (Plan) and it was checked (Problems; none: it runs).
	EventPlan = "plan"
	// EventStep: progress of the plan's run (Step, a plan.Event).
	EventStep = "step"
	// EventToolCall: an agent meta-tool call finished (Tool, Arguments; Error when it failed).
	EventToolCall = "tool_call"
	// EventAnswerDelta: a piece of the answer as the model writes it
	// (Answer), when the model streams.
	EventAnswerDelta = "answer_delta"
	// EventAnswer: the answer (Answer).
	EventAnswer = "answer"
)

// Event is one progress notification of a request, for live views (weft
// ask --watch, POST /v1/ask with Accept: text/event-stream).
type Event struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`

	Tools []string `json:"tools,omitempty"`
	All   bool     `json:"all,omitempty"`

	// Model names the model of a model_call ("planner", "worker").
	Model        string `json:"model,omitempty"`
	Purpose      string `json:"purpose,omitempty"`
	Usage        *Usage `json:"usage,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`

	Plan     *plan.Plan     `json:"plan,omitempty"`
	Problems []plan.Problem `json:"problems,omitempty"`

	Step *plan.Event `json:"step,omitempty"`

	Tool      string `json:"tool,omitempty"`
	Arguments any    `json:"arguments,omitempty"`

	Answer string `json:"answer,omitempty"`
	Error  string `json:"error,omitempty"`
}

// emitter delivers events to Runner.OnEvent one at a time (plan steps
// report from several goroutines).
type emitter struct {
	mu sync.Mutex
	fn func(Event)
}

func (e *emitter) emit(ev Event) {
	if e == nil || e.fn == nil {
		return
	}
	ev.Time = time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fn(ev)
}
