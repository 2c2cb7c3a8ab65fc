package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/weft-dev/weft/agent"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/tracing"
	"github.com/weft-dev/weft/plan"
	"github.com/weft-dev/weft/sandbox"
	"github.com/weft-dev/weft/search"
)

// CallerAsk names tool calls made by `ask` (the plan and agent strategies)
// in engine events.
const CallerAsk = "ask"

// ErrNoModel is returned by Ask when no model is configured.
var ErrNoModel = errors.New("ask: no model configured (set models.planner in weft.yaml, or PLANNER_PROVIDER, PLANNER_MODEL and AZURE_OPENAI_ENDPOINT; see docs/ask.md)")

// AskRequest is a request in natural language.
type AskRequest struct {
	// Text is the request.
	Text string `json:"request"`
	// Strategy is plan or agent ("" : ask.strategy).
	Strategy string `json:"strategy,omitempty"`
	// OnEvent, when set, receives the request's progress (candidates,
	// model calls with their token usage, the plan, step progress, tool
	// calls, the answer), one event at a time; it must be quick.
	OnEvent func(agent.Event) `json:"-"`
}

// AskResult is what a request produced: the answer, the plan and its run
// (plan strategy) or the meta-tool calls (agent strategy), and the token
// usage per model call and in all. When Ask fails it still holds what was
// done until the failure.
type AskResult = agent.Result

// askState holds the model clients, built on first use and kept so that
// their Entra ID tokens are cached across requests.
type askState struct {
	mu      sync.Mutex
	clients map[string]*agent.Client
}

// Ask answers a request in natural language with the configured planner
// model (ask.planner_model) and the tools the caller on ctx may see and
// call: the plan strategy searches for candidate tools, has the model
// write a plan, checks and repairs it, runs it and synthesises the answer;
// the agent strategy lets the model call weft's meta-tools until it
// answers. The request is bounded by the ask budgets (turns, tokens, tool
// calls, deadline); exceeding one fails with *agent.BudgetError and a
// result holding what was done so far.
func (o *Orchestrator) Ask(ctx context.Context, req AskRequest) (*AskResult, error) {
	a := o.cfg.Ask
	strategy := req.Strategy
	if strategy == "" {
		strategy = a.Strategy
	}
	model, err := o.askModel()
	if err != nil {
		return &AskResult{Strategy: strategy, Calls: []agent.CallRecord{}}, err
	}
	r := &agent.Runner{
		Model: model,
		Tools: askTools{o},
		Budget: agent.Budget{MaxTurns: a.MaxTurns, MaxTokens: int64(a.MaxTokens), MaxToolCalls: a.MaxToolCalls,
			Deadline: a.Deadline.D()},
		RepairRounds:   a.RepairRounds,
		CandidateTools: a.CandidateTools,
		OnEvent: func(ev agent.Event) {
			if ev.Type == agent.EventModelCall {
				var u agent.Usage
				if ev.Usage != nil {
					u = *ev.Usage
				}
				o.metrics.ModelCall(ev.Model, ev.Purpose, ev.Error == "", u.PromptTokens, u.CachedTokens, u.CompletionTokens)
			}
			if req.OnEvent != nil {
				req.OnEvent(ev)
			}
		},
	}
	if o.tracer != nil {
		return o.askTraced(ctx, r, agent.Request{Text: req.Text, Strategy: strategy})
	}
	return r.Ask(ctx, agent.Request{Text: req.Text, Strategy: strategy})
}

// askModel returns the planner model.
func (o *Orchestrator) askModel() (agent.Model, error) {
	if o.cfg.Models[o.cfg.Ask.PlannerModel] == nil {
		return nil, ErrNoModel
	}
	c, err := o.modelClient(o.cfg.Ask.PlannerModel)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// modelClient returns the client of models.<name>, built once.
func (o *Orchestrator) modelClient(name string) (*agent.Client, error) {
	o.ask.mu.Lock()
	defer o.ask.mu.Unlock()
	if c, ok := o.ask.clients[name]; ok {
		return c, nil
	}
	mc := o.cfg.Models[name]
	if mc == nil {
		return nil, fmt.Errorf("no model %q in models (configured: %s)", name, strings.Join(slices.Sorted(maps.Keys(o.cfg.Models)), ", "))
	}
	c, err := newModelClient(mc, o.tracer)
	if err != nil {
		return nil, err
	}
	if o.ask.clients == nil {
		o.ask.clients = map[string]*agent.Client{}
	}
	o.ask.clients[name] = c
	return c, nil
}

// DefaultStepModel is the model of llm plan steps that name none, when it
// is configured (else ask.planner_model): the small model of the two-model
// split (the large model plans, the small one executes).
const DefaultStepModel = "worker"

// llmRunner answers llm plan steps with the configured models.
type llmRunner struct{ o *Orchestrator }

// RunLLM implements plan.LLMRunner.
func (l llmRunner) RunLLM(ctx context.Context, model, prompt string, output json.RawMessage) (json.RawMessage, error) {
	o := l.o
	if model == "" {
		model = o.cfg.Ask.PlannerModel
		if o.cfg.Models[DefaultStepModel] != nil {
			model = DefaultStepModel
		}
	}
	if len(o.cfg.Models) == 0 {
		return nil, ErrNoModel
	}
	c, err := o.modelClient(model)
	if err != nil {
		return nil, err
	}
	out, u, err := agent.RunLLMStep(ctx, c, prompt, output)
	// Inside an ask request the step counts in its result and budget (and
	// its metrics come with the request's events); else here.
	if !agent.RecordUsage(ctx, model, "llm_step", u, err) {
		o.metrics.ModelCall(model, "llm_step", err == nil, u.PromptTokens, u.CachedTokens, u.CompletionTokens)
	}
	return out, err
}

// newModelClient builds a model client from its configuration; tracer
// (nil: off) traces its calls.
func newModelClient(mc *config.Model, tracer *tracing.Tracer) (*agent.Client, error) {
	cc := agent.ClientConfig{
		Name: mc.Name, Provider: mc.Provider, Model: mc.Model, Endpoint: mc.Endpoint,
		APIVersion: mc.APIVersion, APIKey: mc.APIKey, Timeout: mc.Timeout.D(), MaxRetries: mc.MaxRetries,
		Tracer: tracer,
	}
	if mc.UseEntraID {
		cred, err := entraCredential(mc.ManagedIdentityClientID)
		if err != nil {
			return nil, fmt.Errorf("models.%s: Entra ID credential: %w", mc.Name, err)
		}
		cc.Credential, cc.APIKey = cred, ""
	}
	c, err := agent.NewClient(cc)
	if err != nil {
		return nil, fmt.Errorf("models.%s: %w", mc.Name, err)
	}
	return c, nil
}

// entraCredential is a user-assigned managed identity when clientID is
// set, else DefaultAzureCredential (environment, workload identity,
// managed identity, Azure CLI, ...).
func entraCredential(clientID string) (azcore.TokenCredential, error) {
	if clientID != "" {
		return azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(clientID)})
	}
	return azidentity.NewDefaultAzureCredential(nil)
}

// askTools implements agent.Tools with the facade; every method reads the
// catalog through the caller's view and calls through the engine with the
// caller's policy (both on ctx).
type askTools struct{ o *Orchestrator }

func (t askTools) Candidates(ctx context.Context, request string, max int) ([]agent.ToolInfo, bool, error) {
	resp, all, err := t.o.SearchAuto(ctx, search.Query{Text: request, K: max, WithSignature: true}, max, t.o.cfg.Search.AutoMaxTokens)
	if err != nil {
		return nil, false, err
	}
	return toolInfos(resp), all, nil
}

func (t askTools) Search(ctx context.Context, query string, k int) ([]agent.ToolInfo, error) {
	resp, err := t.o.Search(ctx, search.Query{Text: query, K: min(k, search.MaxK), WithSignature: true})
	if err != nil {
		return nil, err
	}
	return toolInfos(resp), nil
}

func toolInfos(resp *search.Response) []agent.ToolInfo {
	out := make([]agent.ToolInfo, len(resp.Results))
	for i, r := range resp.Results {
		out[i] = agent.ToolInfo{Name: r.Name, Description: r.Description, Signature: r.Signature}
	}
	return out
}

func (t askTools) Describe(ctx context.Context, names []string) (string, error) {
	if len(names) == 0 {
		return "", errors.New("describe_tools: names is empty (name the tools to describe)")
	}
	return t.o.Typings(ctx, names)
}

func (t askTools) Call(ctx context.Context, name string, args json.RawMessage) (json.RawMessage, error) {
	res, err := t.o.Call(ctx, name, args, CallerAsk)
	if err != nil {
		return nil, err
	}
	if res.IsError {
		return nil, fmt.Errorf("tool %s failed: %s", name, res.Text())
	}
	if len(res.StructuredContent) > 0 {
		return res.StructuredContent, nil
	}
	return json.Marshal(map[string]string{"text": res.Text()})
}

func (t askTools) RunCode(ctx context.Context, code string) (json.RawMessage, error) {
	res, err := t.o.RunCode(ctx, sandbox.Request{Code: code, Language: sandbox.TypeScript})
	if err != nil {
		return nil, err
	}
	if res.Error != nil {
		return nil, res.Error
	}
	return res.Result, nil
}

func (t askTools) CheckPlan(ctx context.Context, p *plan.Plan) []plan.Problem {
	return t.o.CheckPlan(ctx, p)
}

func (t askTools) RunPlan(ctx context.Context, p *plan.Plan, onEvent func(plan.Event)) (*plan.Run, error) {
	return t.o.RunPlan(ctx, p, nil, plan.RunOptions{OnEvent: onEvent})
}
