package weft_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/agent"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/modeltest"
	"github.com/weft-dev/weft/plan"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// askTools is a function source "geo": weather answers a temperature per
// city, secret is a tool scoped callers must not see.
func askTools() *function.Source {
	src := function.New("geo", "weather tools")
	type city struct {
		City string `json:"city" jsonschema:"the city"`
	}
	type weather struct {
		City  string `json:"city"`
		TempC int    `json:"temp_c"`
	}
	temps := map[string]int{"Paris": 21, "Oslo": 5}
	function.Must(function.Add(src, "weather", "Current weather of a city", func(_ context.Context, a city) (weather, error) {
		return weather{City: a.City, TempC: temps[a.City]}, nil
	}))
	function.Must(function.Add(src, "secret", "Reads the vault", func(context.Context, city) (string, error) { return "the-secret", nil }))
	return src
}

// askOrchestrator is an orchestrator over askTools whose planner is an
// openai-compatible model served by srv.
func askOrchestrator(t *testing.T, srv *modeltest.Server, edit func(*config.Config)) *weft.Orchestrator {
	t.Helper()
	cfg := baseConfig(t)
	cfg.Models = map[string]*config.Model{"planner": {Name: "planner", Provider: config.ProviderOpenAICompatible,
		Model: "qwen2.5", Endpoint: srv.URL + "/v1", Timeout: config.Duration(config.DefaultModelTimeout)}}
	if edit != nil {
		edit(cfg)
	}
	o, err := weft.New(weft.Options{Config: cfg, Offline: true, Sources: []source.Source{askTools()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o
}

func purposes(res *weft.AskResult) []string {
	var out []string
	for _, c := range res.Calls {
		out = append(out, c.Purpose)
	}
	return out
}

func TestAskPlanValid(t *testing.T) {
	srv := modeltest.New()
	defer srv.Close()
	srv.Push(modeltest.Reply{Content: modeltest.Plan([3]string{"w", "geo__weather", `{"city":"Paris"}`}), Prompt: 900, Cached: 768, Completion: 40},
		modeltest.Reply{Content: "It is 21 °C in Paris.", Prompt: 300, Completion: 12})
	o := askOrchestrator(t, srv, nil)
	ctx := context.Background()
	res, err := o.Ask(ctx, weft.AskRequest{Text: "How warm is it in Paris?", Strategy: "plan"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "It is 21 °C in Paris." || res.Run == nil || res.Run.Status != "succeeded" || res.Repairs != 0 {
		t.Fatalf("result = %+v", res)
	}
	if !res.AllTools || !slices.Contains(res.Candidates, "geo__weather") {
		t.Fatalf("candidates = %v (all %v)", res.Candidates, res.AllTools)
	}
	if got := purposes(res); !slices.Equal(got, []string{"plan", "synthesis"}) || res.Turns != 2 {
		t.Fatalf("calls = %v, turns %d", got, res.Turns)
	}
	if res.Usage != (agent.Usage{PromptTokens: 1200, CachedTokens: 768, CompletionTokens: 52}) {
		t.Fatalf("usage = %+v", res.Usage)
	}
	reqs := srv.Requests()
	// The plan prompt: stable instructions, then the tool block (TypeScript
	// signatures), then the request — in that order, for prompt caching.
	ms := reqs[0].Messages()
	if len(ms) != 3 || ms[0]["role"] != "system" || !strings.Contains(ms[1]["content"].(string), "geo__weather(") || ms[2]["content"] != "How warm is it in Paris?" {
		t.Fatalf("plan messages = %v", ms)
	}
	if syn := reqs[1].Messages(); !strings.Contains(syn[1]["content"].(string), `"temp_c":21`) {
		t.Fatalf("synthesis prompt lacks the step result: %v", syn)
	}
	// The generated plan is stored with the run.
	run, err := o.GetRun(ctx, res.Run.ID)
	if err != nil || run.Plan == nil || run.Plan.Steps[0].Tool != "geo__weather" || run.Name != "ask: How warm is it in Paris?" {
		t.Fatalf("stored run = %+v, err %v", run, err)
	}
	// Calls and tokens are in the metrics.
	rec := httptest.NewRecorder()
	o.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`weft_model_tokens_total{kind="cached",model="planner"} 768`,
		`weft_model_tokens_total{kind="prompt",model="planner"} 1200`,
		`weft_model_tokens_total{kind="completion",model="planner"} 52`,
		`weft_model_calls_total{model="planner",outcome="ok",purpose="synthesis"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestAskPlanRepairedInRound2(t *testing.T) {
	srv := modeltest.New()
	defer srv.Close()
	srv.Push(modeltest.Reply{Content: modeltest.Plan([3]string{"w", "geo__wether", `{"city":"Oslo"}`})},
		modeltest.Reply{Content: modeltest.Plan([3]string{"w", "geo__weather", `{"city":"Oslo"}`})},
		modeltest.Reply{Content: "5 °C in Oslo."})
	o := askOrchestrator(t, srv, nil)
	res, err := o.Ask(context.Background(), weft.AskRequest{Text: "Weather in Oslo?"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Repairs != 1 || res.Answer != "5 °C in Oslo." || len(res.Problems) != 0 {
		t.Fatalf("result = %+v", res)
	}
	if got := purposes(res); !slices.Equal(got, []string{"plan", "repair", "synthesis"}) {
		t.Fatalf("calls = %v", got)
	}
	// The repair round shows the model its plan and the precise problem.
	ms := srv.Requests()[1].Messages()
	last := ms[len(ms)-1]["content"].(string)
	if ms[len(ms)-2]["role"] != "assistant" || !strings.Contains(last, "steps[0].tool") || !strings.Contains(last, `no tool "geo__wether" in the catalog (did you mean "geo__weather"?)`) {
		t.Fatalf("repair prompt = %q", last)
	}
}

func TestAskPlanStillInvalidAfterLastRound(t *testing.T) {
	srv := modeltest.New()
	defer srv.Close()
	bad := modeltest.Reply{Content: modeltest.Plan([3]string{"w", "geo__nope", `{}`})}
	srv.Push(bad, bad, bad, bad)
	o := askOrchestrator(t, srv, nil) // repair_rounds: 2 (default)
	res, err := o.Ask(context.Background(), weft.AskRequest{Text: "Weather?"})
	var pe *agent.PlanError
	if !errors.As(err, &pe) || pe.Rounds != 2 || len(pe.Problems) == 0 || pe.Problems[0].Code != "unknown_tool" {
		t.Fatalf("err = %v", err)
	}
	if res.Run != nil || res.Answer != "" || res.Turns != 3 || srv.Remaining() != 1 || len(res.Problems) == 0 {
		t.Fatalf("result = %+v, %d replies left", res, srv.Remaining())
	}
}

func TestAskAgentSearchesRunsCodeAndAnswers(t *testing.T) {
	srv := modeltest.New()
	defer srv.Close()
	srv.Push(
		modeltest.Reply{ToolCalls: []modeltest.ToolCall{
			{ID: "a", Name: "search_tools", Args: `{"query":"weather of a city"}`},
			{ID: "b", Name: "describe_tools", Args: `{"names":["geo__weather"]}`},
		}, Prompt: 400, Completion: 30},
		modeltest.Reply{ToolCalls: []modeltest.ToolCall{
			{ID: "c", Name: "run_code", Args: `{"code":"const p = await tools.geo.weather({city: 'Paris'}); const o = await tools.geo.weather({city: 'Oslo'}); return p.temp_c - o.temp_c;"}`},
		}, Prompt: 600, Cached: 384, Completion: 50},
		modeltest.Reply{Content: "Paris is 16 °C warmer than Oslo.", Prompt: 700, Cached: 512, Completion: 15},
	)
	o := askOrchestrator(t, srv, nil)
	res, err := o.Ask(context.Background(), weft.AskRequest{Text: "How much warmer is Paris than Oslo?", Strategy: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "Paris is 16 °C warmer than Oslo." || res.Turns != 3 || len(res.ToolCalls) != 3 {
		t.Fatalf("result = %+v", res)
	}
	for _, u := range res.ToolCalls {
		if u.Error != "" {
			t.Fatalf("tool call %s failed: %s", u.Tool, u.Error)
		}
	}
	reqs := srv.Requests()
	second := reqs[1].Messages()
	// Both calls of turn 1 were answered, in order, with their results.
	if second[3]["tool_call_id"] != "a" || !strings.Contains(second[3]["content"].(string), "geo__weather") ||
		second[4]["tool_call_id"] != "b" || !strings.Contains(second[4]["content"].(string), "temp_c") {
		t.Fatalf("turn 2 messages = %v", second)
	}
	if third := reqs[2].Messages(); third[len(third)-1]["content"] != "16" {
		t.Fatalf("run_code answered %v", third[len(third)-1])
	}
	if res.Usage.CachedTokens != 896 || res.Usage.Total() != 1795 {
		t.Fatalf("usage = %+v", res.Usage)
	}
}

func TestAskBudgets(t *testing.T) {
	search := modeltest.Reply{ToolCalls: []modeltest.ToolCall{{ID: "s", Name: "search_tools", Args: `{"query":"x"}`}}, Prompt: 100, Completion: 10}
	t.Run("max_turns", func(t *testing.T) {
		srv := modeltest.New()
		defer srv.Close()
		srv.Push(search, search, search)
		o := askOrchestrator(t, srv, func(c *config.Config) { c.Ask.MaxTurns = 2 })
		res, err := o.Ask(context.Background(), weft.AskRequest{Text: "loop", Strategy: "agent"})
		var be *agent.BudgetError
		if !errors.As(err, &be) || be.Budget != agent.BudgetTurns || be.Limit != 2 || !errors.Is(err, agent.ErrBudget) {
			t.Fatalf("err = %v", err)
		}
		// What was done so far is in the result.
		if res.Turns != 2 || len(res.ToolCalls) != 2 || res.Usage.Total() != 220 || srv.Remaining() != 1 {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("max_tokens", func(t *testing.T) {
		srv := modeltest.New()
		defer srv.Close()
		srv.Push(modeltest.Reply{Content: modeltest.Plan([3]string{"w", "geo__weather", `{"city":"Paris"}`}), Prompt: 5000, Completion: 100},
			modeltest.Reply{Content: "never asked"})
		o := askOrchestrator(t, srv, func(c *config.Config) { c.Ask.MaxTokens = 1000 })
		res, err := o.Ask(context.Background(), weft.AskRequest{Text: "Paris?"})
		var be *agent.BudgetError
		if !errors.As(err, &be) || be.Budget != agent.BudgetTokens || be.Used != 5100 {
			t.Fatalf("err = %v", err)
		}
		if res.Turns != 1 || res.Run != nil || srv.Remaining() != 1 {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("max_tool_calls", func(t *testing.T) {
		srv := modeltest.New()
		defer srv.Close()
		srv.Push(search, search)
		o := askOrchestrator(t, srv, func(c *config.Config) { c.Ask.MaxToolCalls = 1 })
		_, err := o.Ask(context.Background(), weft.AskRequest{Text: "loop", Strategy: "agent"})
		var be *agent.BudgetError
		if !errors.As(err, &be) || be.Budget != agent.BudgetToolCalls {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		srv := modeltest.New()
		never := make(chan struct{})
		srv.Push(modeltest.Reply{Wait: never})
		o := askOrchestrator(t, srv, func(c *config.Config) { c.Ask.Deadline = config.Duration(200e6) })
		res, err := o.Ask(context.Background(), weft.AskRequest{Text: "slow", Strategy: "agent"})
		var be *agent.BudgetError
		if !errors.As(err, &be) || be.Budget != agent.BudgetDeadline || res.Turns != 1 {
			t.Fatalf("err = %v, result %+v", err, res)
		}
		srv.Close()
		if srv.Canceled() != 1 {
			t.Fatalf("the model call was not canceled at the deadline")
		}
	})
}

// TestAskUsesTheCallersPolicy: a scoped caller's candidates, search and
// calls leave out the tools outside its scope.
func TestAskUsesTheCallersPolicy(t *testing.T) {
	srv := modeltest.New()
	defer srv.Close()
	srv.Push(modeltest.Reply{Content: modeltest.Plan([3]string{"s", "geo__secret", `{"city":"x"}`})},
		modeltest.Reply{Content: modeltest.Plan([3]string{"s", "geo__secret", `{"city":"x"}`})})
	o := askOrchestrator(t, srv, func(c *config.Config) { c.Ask.RepairRounds = 1 })
	ctx := weft.WithScope(context.Background(), weft.Scope{Tools: []string{"geo__weather"}})
	res, err := o.Ask(ctx, weft.AskRequest{Text: "read the vault"})
	if slices.Contains(res.Candidates, "geo__secret") || !slices.Contains(res.Candidates, "geo__weather") {
		t.Fatalf("candidates = %v", res.Candidates)
	}
	if strings.Contains(srv.Requests()[0].Messages()[1]["content"].(string), "secret") {
		t.Fatal("the hidden tool was shown to the model")
	}
	var pe *agent.PlanError
	if !errors.As(err, &pe) || pe.Problems[0].Code != "unknown_tool" {
		t.Fatalf("err = %v", err)
	}
}

func TestAskWithoutModel(t *testing.T) {
	o, err := weft.New(weft.Options{Config: baseConfig(t), Offline: true, Sources: []source.Source{askTools()}})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := o.Ask(context.Background(), weft.AskRequest{Text: "x"}); !errors.Is(err, weft.ErrNoModel) {
		t.Fatalf("err = %v", err)
	}
}

// TestAskPromptLayoutHitsPromptCache: the plan prompt puts the stable
// instructions and the tool block first and the request last, so a
// second, different request shares that prefix with the first and the
// provider serves it from its prompt cache (modeled by PrefixCache).
func TestAskPromptLayoutHitsPromptCache(t *testing.T) {
	srv := modeltest.New()
	srv.PrefixCache = true
	defer srv.Close()
	o := askOrchestrator(t, srv, nil)
	var cached []int64
	for _, city := range []string{"Paris", "Oslo"} {
		srv.Push(modeltest.Reply{Content: modeltest.Plan([3]string{"w", "geo__weather", `{"city":"` + city + `"}`})},
			modeltest.Reply{Content: "fine"})
		res, err := o.Ask(context.Background(), weft.AskRequest{Text: "How warm is it in " + city + "?"})
		if err != nil {
			t.Fatal(err)
		}
		cached = append(cached, res.Calls[0].Usage.CachedTokens)
	}
	first := srv.Requests()[0].Messages()
	prefix := len(first[0]["content"].(string)) + len(first[1]["content"].(string))
	if cached[0] != 0 || cached[1] < int64(prefix/4)-32 {
		t.Fatalf("cached tokens of the plan calls: %v; the stable prefix is about %d tokens", cached, prefix/4)
	}
}

// TestLLMPlanStep: an llm step of a plan goes to the small worker model
// (the two-model split), with the referenced step result in its prompt;
// an answer invalid for the output schema gets one repair.
func TestLLMPlanStep(t *testing.T) {
	planner, worker := modeltest.New(), modeltest.New()
	defer planner.Close()
	defer worker.Close()
	o := askOrchestrator(t, planner, func(c *config.Config) {
		c.Models["worker"] = &config.Model{Name: "worker", Provider: config.ProviderOpenAICompatible, Model: "llama3.2",
			Endpoint: worker.URL + "/v1", Timeout: config.Duration(config.DefaultModelTimeout)}
	})
	worker.Push(modeltest.Reply{Content: `{"verdict": 21}`, Prompt: 40, Completion: 5},
		modeltest.Reply{Content: `{"verdict": "warm"}`, Prompt: 60, Completion: 5})
	p := parsePlan(t, o, `{"steps": [
		{"id": "w", "tool": "geo__weather", "args": {"city": "Paris"}},
		{"id": "judge", "llm": {"prompt": "Is {{steps.w.result.temp_c}} °C warm or cold?",
		  "output": {"type": "object", "properties": {"verdict": {"enum": ["warm", "cold"]}}, "required": ["verdict"]}}}
	]}`)
	run, err := o.RunPlan(context.Background(), p, nil, plan.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != plan.RunSucceeded {
		t.Fatalf("run %s: %+v", run.Status, run.Step("judge").Error)
	}
	if got, _ := json.Marshal(run.Step("judge").Result); string(got) != `{"verdict":"warm"}` {
		t.Fatalf("judge result %s", got)
	}
	reqs := worker.Requests()
	if len(reqs) != 2 || planner.Remaining() != 0 || len(planner.Requests()) != 0 {
		t.Fatalf("worker got %d requests, planner %d", len(reqs), len(planner.Requests()))
	}
	first := reqs[0].Messages()
	if first[1]["content"] != "Is 21 °C warm or cold?" || reqs[0].Body["model"] != "llama3.2" {
		t.Fatalf("first request %v", reqs[0].Body)
	}
	repair := reqs[1].Messages()
	if last := repair[len(repair)-1]["content"].(string); !strings.Contains(last, "That answer is invalid") || !strings.Contains(last, "verdict") {
		t.Fatalf("repair prompt %q", last)
	}
}

// TestAskPlanSynthesisPrompt: the planner's synthesis_prompt (the replaced
// system's final_synthesis.prompt_template) quotes the step results it
// needs; its references are checked with the plan (a bad one is repaired)
// and resolved after the run, and the synthesis call gets it instead of
// every result.
func TestAskPlanSynthesisPrompt(t *testing.T) {
	srv := modeltest.New()
	defer srv.Close()
	withPrompt := func(prompt string) string {
		return `{"synthesis_prompt": ` + strconv.Quote(prompt) + `, "steps": [{"id": "w", "tool": "geo__weather", "args_json": "{\"city\":\"Paris\"}", "code": null, "depends_on": []}]}`
	}
	srv.Push(modeltest.Reply{Content: withPrompt("Say that it is {{steps.weather.result.temp_c}} °C.")},
		modeltest.Reply{Content: withPrompt("Say that it is {{steps.w.result.temp_c}} °C in {{steps.w.result.city}}.")},
		modeltest.Reply{Content: "21 °C in Paris."})
	o := askOrchestrator(t, srv, nil)
	res, err := o.Ask(context.Background(), weft.AskRequest{Text: "Paris?"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Repairs != 1 || res.Answer != "21 °C in Paris." {
		t.Fatalf("result %+v", res)
	}
	reqs := srv.Requests()
	repair := reqs[1].Messages()
	if last := repair[len(repair)-1]["content"].(string); !strings.Contains(last, "outputs.synthesis_prompt") || !strings.Contains(last, "weather") {
		t.Fatalf("repair prompt %q", last)
	}
	syn := reqs[2].Messages()[1]["content"].(string)
	if syn != "Request: Paris?\n\nSay that it is 21 °C in Paris." {
		t.Fatalf("synthesis prompt %q", syn)
	}
}

// TestAskPlanWithLLMStep: the planner (the large model) may give a cheap
// language step to the small worker model; the plan runs it there.
func TestAskPlanWithLLMStep(t *testing.T) {
	planner, worker := modeltest.New(), modeltest.New()
	defer planner.Close()
	defer worker.Close()
	o := askOrchestrator(t, planner, func(c *config.Config) {
		c.Models["worker"] = &config.Model{Name: "worker", Provider: config.ProviderOpenAICompatible, Model: "phi3",
			Endpoint: worker.URL + "/v1", Timeout: config.Duration(config.DefaultModelTimeout)}
	})
	planner.Push(modeltest.Reply{Content: `{"synthesis_prompt": "Report {{steps.judge.result}}.", "steps": [
		{"id": "w", "tool": "geo__weather", "args_json": "{\"city\":\"Oslo\"}", "code": null, "llm_prompt": null, "depends_on": []},
		{"id": "judge", "tool": null, "args_json": null, "code": null, "llm_prompt": "One word, warm or cold: {{steps.w.result.temp_c}} °C", "depends_on": []}]}`},
		modeltest.Reply{Content: "Oslo is cold."})
	worker.Push(modeltest.Reply{Content: "cold", Prompt: 30, Completion: 1})
	res, err := o.Ask(context.Background(), weft.AskRequest{Text: "Is Oslo warm?"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "Oslo is cold." || res.Run.Step("judge").Result != "cold" {
		t.Fatalf("result %+v", res)
	}
	if got := worker.Requests()[0].Messages()[1]["content"]; got != "One word, warm or cold: 5 °C" {
		t.Fatalf("worker prompt %v", got)
	}
	if syn := planner.Requests()[1].Messages()[1]["content"]; syn != "Request: Is Oslo warm?\n\nReport cold." {
		t.Fatalf("synthesis prompt %v", syn)
	}
	// The worker's call counts in the request's result and in the metrics
	// under its own model.
	if got := purposes(res); !slices.Equal(got, []string{"plan", "llm_step", "synthesis"}) || res.Turns != 3 || res.Usage.PromptTokens != 30 {
		t.Fatalf("calls %v, turns %d, usage %+v", got, res.Turns, res.Usage)
	}
	rec := httptest.NewRecorder()
	o.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `weft_model_tokens_total{kind="prompt",model="worker"} 30`) {
		t.Errorf("metrics lack the worker's tokens")
	}
}
