package agent

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/weft-dev/weft/plan"
)

// loopModel asks for one search_tools call per turn, forever.
type loopModel struct{}

func (loopModel) Name() string { return "loop" }

func (loopModel) Chat(context.Context, ChatRequest) (*ChatResponse, error) {
	return &ChatResponse{ToolCalls: []ToolCall{{ID: "c", Name: "search_tools", Arguments: `{"query":"orders","k":5}`}},
		Usage: Usage{PromptTokens: 100, CompletionTokens: 10}}, nil
}

// nopTools answers every meta-tool at once.
type nopTools struct{}

func (nopTools) Candidates(context.Context, string, int) ([]ToolInfo, bool, error) {
	return nil, true, nil
}
func (nopTools) Search(context.Context, string, int) ([]ToolInfo, error) {
	return []ToolInfo{{Name: "shop__get_order", Description: "Get an order", Signature: "get_order(args: { index: number }): Promise<unknown>"}}, nil
}
func (nopTools) Describe(context.Context, []string) (string, error) { return "", nil }
func (nopTools) Call(context.Context, string, json.RawMessage) (json.RawMessage, error) {
	return json.RawMessage(`{}`), nil
}
func (nopTools) RunCode(context.Context, string) (json.RawMessage, error) { return nil, nil }
func (nopTools) CheckPlan(context.Context, *plan.Plan) []plan.Problem     { return nil }
func (nopTools) RunPlan(context.Context, *plan.Plan, func(plan.Event)) (*plan.Run, error) {
	return nil, nil
}

// BenchmarkAgentTurn measures the agent loop's own work per turn — budget
// checks, recording, running the turn's meta-tool call, appending the
// messages — outside the model call (the model answers at once). Each
// iteration is one request of 20 turns; ns/op / 20 is the per-turn
// overhead (reported as ns/turn).
func BenchmarkAgentTurn(b *testing.B) {
	r := &Runner{Model: loopModel{}, Tools: nopTools{}, Budget: Budget{MaxTurns: 20}}
	b.ReportAllocs()
	for b.Loop() {
		_, err := r.Ask(context.Background(), Request{Text: "sum the orders", Strategy: StrategyAgent})
		if err == nil {
			b.Fatal("want the turn budget to end the request")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/20, "ns/turn")
}
