package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/weft-dev/weft/internal/modeltest"
)

// TestAskCommand runs `weft ask` end to end: the npm everything server as
// the tool source, a scripted openai-compatible model, the plan strategy.
func TestAskCommand(t *testing.T) {
	srv := modeltest.New()
	defer srv.Close()
	cfgPath, cache := writeConfig(t, "")
	models := fmt.Sprintf("models:\n  planner:\n    provider: openai-compatible\n    model: qwen2.5\n    endpoint: %s/v1\n", srv.URL)
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(models)
	f.Close()

	srv.Push(modeltest.Reply{Content: modeltest.Plan([3]string{"say", "everything__echo", `{"message":"hello from the plan"}`}), Prompt: 800, Cached: 512, Completion: 30},
		modeltest.Reply{Content: "The server echoed: hello from the plan.", Prompt: 200, Completion: 10})
	r := run(t, cache, "ask", "--config", cfgPath, "--json", "--watch", "Echo 'hello from the plan'")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	var res struct {
		Answer string `json:"answer"`
		Run    struct {
			Status string `json:"status"`
			Steps  []struct {
				Result any `json:"result"`
			} `json:"steps"`
		} `json:"run"`
		Usage struct {
			Cached int `json:"cached_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	step, _ := json.Marshal(res.Run.Steps)
	if res.Answer != "The server echoed: hello from the plan." || res.Run.Status != "succeeded" || !strings.Contains(string(step), "Echo: hello from the plan") || res.Usage.Cached != 512 {
		t.Fatalf("result: %s", r.stdout)
	}
	for _, want := range []string{"search     ", "model      plan      800 prompt (512 cached) + 30 completion tokens, stop", "plan       1 step(s), valid",
		"step       step_finished say succeeded", "step       run_finished succeeded\n", "model      synthesis 200 prompt (0 cached) + 10 completion tokens", "answer     39 characters"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("--watch output lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "plan: 2 model call(s), tokens 1000 prompt (512 cached) + 40 completion, run ") {
		t.Fatalf("stderr: %s", r.stderr)
	}

	// config check shows the model with its key masked.
	keyed := cfgPath + ".keyed.yaml"
	os.WriteFile(keyed, []byte(fmt.Sprintf("models:\n  planner:\n    provider: openai-compatible\n    model: m\n    endpoint: %s/v1\n    api_key: sk-very-secret-123\n", srv.URL)), 0o600)
	r = run(t, cache, "config", "check", "--config", keyed)
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, "sk-very-secret-123") || !strings.Contains(r.stdout, "api_key: '****'") && !strings.Contains(r.stdout, `api_key: "****"`) ||
		!strings.Contains(r.stdout, "provider: openai-compatible") || !strings.Contains(r.stdout, "max_turns: 16") {
		t.Fatalf("config check: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// A missing credential is a start-up error naming the field (a model
	// not named planner, so that no OPENAI_API_KEY of the test's
	// environment fills it in).
	os.WriteFile(keyed, []byte("models:\n  big:\n    provider: openai\n    model: gpt-4.1\nask:\n  planner_model: big\n"), 0o600)
	r = run(t, cache, "ask", "--config", keyed, "x")
	if r.code != 2 || !strings.Contains(r.stderr, ".yaml:2: models.big.api_key: is required for provider openai") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}

	// Without a model: a usage error naming what to configure.
	plain, cache2 := writeConfig(t, "")
	r = run(t, cache2, "ask", "--config", plain, "anything")
	if r.code != 2 || !strings.Contains(r.stderr, "no model configured (set models.planner") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	r = run(t, cache, "ask", "--config", cfgPath, "--strategy", "magic", "x")
	if r.code != 2 || !strings.Contains(r.stderr, `--strategy "magic": not a strategy (allowed: plan, agent)`) {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
}
