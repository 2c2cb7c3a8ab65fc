package weft_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/modeltest"
	"github.com/weft-dev/weft/source"
)

// Ask answers a request in natural language with a configured model and
// the tools. Here the model is a local stand-in speaking OpenAI's wire
// format with scripted answers; in production models.planner names Azure
// OpenAI, OpenAI or any OpenAI-compatible server (see docs/ask.md). With
// the plan strategy the model writes a plan, weft checks and runs it, and
// the model writes the answer from the step results.
func ExampleOrchestrator_Ask() {
	model := modeltest.New() // a stand-in for https://NAME.openai.azure.com
	defer model.Close()
	model.Push(
		modeltest.Reply{Content: modeltest.Plan([3]string{"sum", "calc__add", `{"a": 19, "b": 23}`}), Prompt: 412, Completion: 38},
		modeltest.Reply{Content: "19 + 23 = 42.", Prompt: 160, Completion: 9},
	)

	dir, err := os.MkdirTemp("", "weft-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Cache.Dir = dir
	cfg.Models = map[string]*config.Model{"planner": {
		Name: "planner", Provider: config.ProviderOpenAICompatible, Model: "qwen2.5", Endpoint: model.URL + "/v1",
	}}
	o, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{calculator()}, Offline: true})
	if err != nil {
		log.Fatal(err)
	}
	defer o.Close()
	if err := o.Start(context.Background()); err != nil {
		log.Fatal(err)
	}

	res, err := o.Ask(context.Background(), weft.AskRequest{Text: "What is 19 + 23?", Strategy: "plan"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Answer)
	fmt.Println(res.Run.Status, res.Run.Step("sum").Result)
	fmt.Println(res.Turns, "model calls,", res.Usage.Total(), "tokens")
	// Output:
	// 19 + 23 = 42.
	// succeeded map[value:42]
	// 2 model calls, 619 tokens
}
