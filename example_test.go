package weft_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"math"
	"os"
	"strings"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/plan"
	"github.com/weft-dev/weft/sandbox"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// calculator is a tool source of Go functions: no process, no network.
func calculator() source.Source {
	fn := function.New("calc", "Arithmetic on numbers")
	type pair struct {
		A float64 `json:"a" jsonschema:"The first number."`
		B float64 `json:"b" jsonschema:"The second number."`
	}
	type number struct {
		Value float64 `json:"value"`
	}
	function.Must(function.Add(fn, "add", "Add two numbers and return their sum",
		func(_ context.Context, in pair) (number, error) { return number{in.A + in.B}, nil }, function.ReadOnly()))
	function.Must(function.Add(fn, "multiply", "Multiply two numbers and return their product",
		func(_ context.Context, in pair) (number, error) { return number{in.A * in.B}, nil }, function.ReadOnly()))
	function.Must(function.Add(fn, "sqrt", "Square root of a number",
		func(_ context.Context, in struct {
			X float64 `json:"x"`
		}) (number, error) {
			if in.X < 0 {
				return number{}, fmt.Errorf("no square root of %v", in.X)
			}
			return number{math.Sqrt(in.X)}, nil
		}))
	return fn
}

// started returns a started orchestrator over the calculator, with its
// state in a temporary directory, and a function that closes both.
func started() (*weft.Orchestrator, func()) {
	dir, err := os.MkdirTemp("", "weft-example")
	if err != nil {
		log.Fatal(err)
	}
	cfg := config.Default()
	cfg.Cache.Dir = dir // catalog cache, run records
	o, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{calculator()}, Offline: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := o.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	return o, func() {
		o.Close()
		os.RemoveAll(dir)
	}
}

// An orchestrator is built from a configuration (here the defaults: no MCP
// server) and extra tool sources such as Go functions. Start discovers the
// tools; every tool gets a catalog name "<source>__<tool>".
func ExampleNew() {
	dir, err := os.MkdirTemp("", "weft-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Cache.Dir = dir

	o, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{calculator()}, Offline: true})
	if err != nil {
		log.Fatal(err)
	}
	defer o.Close()
	if err := o.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	for _, t := range o.Snapshot().Tools() {
		fmt.Println(t.Name)
	}
	// Output:
	// calc__add
	// calc__multiply
	// calc__sqrt
}

// Call runs one tool through the engine: the arguments are validated
// against the tool's input schema first, so a bad call never reaches it.
func ExampleOrchestrator_Call() {
	o, done := started()
	defer done()
	ctx := context.Background()

	res, err := o.Call(ctx, "calc__add", json.RawMessage(`{"a": 2, "b": 3}`), weft.CallerAPI)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(res.StructuredContent))

	// A tool's own failure is a result with IsError, not a Go error.
	res, err = o.Call(ctx, "calc__sqrt", json.RawMessage(`{"x": -1}`), weft.CallerAPI)
	fmt.Println(res.IsError, res.Text(), err)

	// Invalid arguments are refused before the call.
	_, err = o.Call(ctx, "calc__add", json.RawMessage(`{"a": "two"}`), weft.CallerAPI)
	fmt.Println(err != nil)
	// Output:
	// {"value":5}
	// true no square root of -1 <nil>
	// true
}

// Search finds the tools that best match a request in natural language.
func ExampleOrchestrator_Search() {
	o, done := started()
	defer done()

	resp, err := o.Search(context.Background(), search.Query{Text: "multiply two numbers", K: 2, WithSignature: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Results[0].Name)
	fmt.Println(resp.Results[0].Signature)
	fmt.Printf("degraded: %q\n", resp.Degraded) // set when an embedder is configured but down
	// Output:
	// calc__multiply
	// multiply(args: { a: number; b: number }): Promise<{ value: number }>
	// degraded: ""
}

// RunCode runs a TypeScript program in the sandbox; its tools.* calls go
// through the engine, in parallel when the program awaits them together.
func ExampleOrchestrator_RunCode() {
	o, done := started()
	defer done()

	res, err := o.RunCode(context.Background(), sandbox.Request{Code: `
		const [sum, product] = await Promise.all([
			tools.calc.add({ a: 6, b: 7 }),
			tools.calc.multiply({ a: 6, b: 7 }),
		]);
		console.log("two calls in one run");
		return { sum, product };
	`})
	if err != nil {
		log.Fatal(err)
	}
	if res.Error != nil {
		log.Fatal(res.Error.Message)
	}
	fmt.Println(string(res.Result))
	fmt.Println(len(res.Calls), "calls;", res.Console[0].Text)
	// Output:
	// {"sum":{"value":13},"product":{"value":42}}
	// 2 calls; two calls in one run
}

// RunPlan executes a typed DAG of tool calls: steps run as soon as the
// steps they reference are done, and the run is recorded.
func ExampleOrchestrator_RunPlan() {
	o, done := started()
	defer done()

	p, err := plan.Parse([]byte(`{
		"version": "1",
		"name": "hypotenuse",
		"inputs": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
		"steps": [
			{"id": "aa", "tool": "calc__multiply", "args": {"a": "{{inputs.a}}", "b": "{{inputs.a}}"}},
			{"id": "bb", "tool": "calc__multiply", "args": {"a": "{{inputs.b}}", "b": "{{inputs.b}}"}},
			{"id": "sum", "tool": "calc__add", "args": {"a": "{{steps.aa.result.value}}", "b": "{{steps.bb.result.value}}"}},
			{"id": "c", "tool": "calc__sqrt", "args": {"x": "{{steps.sum.result.value}}"}}
		],
		"outputs": {"c": "{{steps.c.result.value}}"}
	}`))
	if err != nil {
		log.Fatal(err)
	}
	run, err := o.RunPlan(context.Background(), p, map[string]any{"a": 3, "b": 4}, plan.RunOptions{})
	if err != nil {
		log.Fatal(err)
	}
	var steps []string
	for _, s := range run.Steps {
		steps = append(steps, s.ID+":"+string(s.Status))
	}
	fmt.Println(run.Status, strings.Join(steps, " "))
	fmt.Println(run.Outputs["c"])
	// Output:
	// succeeded aa:succeeded bb:succeeded sum:succeeded c:succeeded
	// 5
}
