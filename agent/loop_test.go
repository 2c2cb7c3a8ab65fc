package agent

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/weft-dev/weft/plan"
)

// scripted is a Model playing fixed turns and recording the requests.
type scripted struct {
	mu    sync.Mutex
	turns []*ChatResponse
	reqs  []ChatRequest
}

func (s *scripted) Name() string { return "scripted" }

func (s *scripted) Chat(_ context.Context, req ChatRequest) (*ChatResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, req)
	r := s.turns[0]
	s.turns = s.turns[1:]
	return r, nil
}

// barrierTools: Call blocks until two calls are in flight at once, so a
// test ending at all proves the calls of one turn run in parallel; big
// answers with 100 KB.
type barrierTools struct {
	wg *sync.WaitGroup
}

func (b barrierTools) Call(ctx context.Context, name string, _ json.RawMessage) (json.RawMessage, error) {
	if name == "big" {
		return json.RawMessage(`"` + strings.Repeat("x", 100<<10) + `"`), nil
	}
	b.wg.Done()
	b.wg.Wait()
	return json.RawMessage(`{"ok":"` + name + `"}`), nil
}
func (barrierTools) Candidates(context.Context, string, int) ([]ToolInfo, bool, error) {
	return nil, true, nil
}
func (barrierTools) Search(context.Context, string, int) ([]ToolInfo, error)  { return nil, nil }
func (barrierTools) Describe(context.Context, []string) (string, error)       { return "", nil }
func (barrierTools) RunCode(context.Context, string) (json.RawMessage, error) { return nil, nil }
func (barrierTools) CheckPlan(context.Context, *plan.Plan) []plan.Problem     { return nil }
func (barrierTools) RunPlan(context.Context, *plan.Plan, func(plan.Event)) (*plan.Run, error) {
	return nil, nil
}

func TestAgentLoopParallelCallsClippedAnswersUnknownTool(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(2)
	m := &scripted{turns: []*ChatResponse{
		{ToolCalls: []ToolCall{
			{ID: "1", Name: "call_tool", Arguments: `{"name":"a","arguments":{}}`},
			{ID: "2", Name: "call_tool", Arguments: `{"name":"b","arguments":{}}`},
		}},
		{ToolCalls: []ToolCall{
			{ID: "3", Name: "call_tool", Arguments: `{"name":"big","arguments":{}}`},
			{ID: "4", Name: "delete_everything", Arguments: `{}`},
		}},
		{Content: "done"},
	}}
	r := &Runner{Model: m, Tools: barrierTools{&wg}}
	res, err := r.Ask(context.Background(), Request{Text: "go", Strategy: StrategyAgent})
	if err != nil || res.Answer != "done" || len(res.ToolCalls) != 4 {
		t.Fatalf("res %+v err %v", res, err)
	}
	third := m.reqs[2].Messages
	big, unknown := third[len(third)-2].Content, third[len(third)-1].Content
	if len(big) > MaxToolAnswerBytes+200 || !strings.Contains(big, "[cut: the answer has 102402 bytes") {
		t.Fatalf("big answer: %d bytes, tail %q", len(big), big[len(big)-100:])
	}
	if !strings.Contains(unknown, `no meta-tool \"delete_everything\"`) || res.ToolCalls[3].Error == "" {
		t.Fatalf("unknown tool answer %q, record %+v", unknown, res.ToolCalls[3])
	}
}
