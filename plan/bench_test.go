package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
)

// widePlan builds n steps over the no-op tool; with deps, step i also
// references step i-10, so the DAG has 10 independent chains.
func widePlan(n int, deps bool) string {
	steps := make([]string, n)
	for i := range n {
		args := `{}`
		if deps && i >= 10 {
			args = fmt.Sprintf(`{"prev":"{{steps.s%d.result}}","label":"after {{steps.s%d.status}}"}`, i-10, i-10)
		}
		steps[i] = fmt.Sprintf(`{"id":"s%d","tool":"t__noop","args":%s}`, i, args)
	}
	return `{"steps":[` + strings.Join(steps, ",") + `]}`
}

// noopCaller answers every call at once, to measure the scheduler alone.
type noopCaller struct{}

var noopResult = &source.Result{StructuredContent: json.RawMessage(`{}`)}

func (noopCaller) CallWith(context.Context, string, json.RawMessage, engine.CallOptions) (*source.Result, error) {
	return noopResult, nil
}

func benchRun(b *testing.B, x *Executor, p *Plan, steps int) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := x.Run(context.Background(), p, nil, RunOptions{})
		if err != nil || r.Status != RunSucceeded {
			b.Fatalf("run: %v %v", err, r.Status)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(steps), "ns/step")
}

// BenchmarkSchedulerPerStep: a 100-step plan whose caller returns at once
// (scheduler overhead alone), chained (each step waits for one before) and
// wide (all independent).
func BenchmarkSchedulerPerStep(b *testing.B) {
	for _, shape := range []struct {
		name string
		deps bool
	}{{"chains", true}, {"wide", false}} {
		b.Run(shape.name, func(b *testing.B) {
			p := mustParse(b, widePlan(100, shape.deps))
			benchRun(b, NewExecutor(ExecutorOptions{Caller: noopCaller{}}), p, 100)
		})
	}
}

// BenchmarkEnginePerStep: the same through the real engine (argument
// validation, limits, events) over an in-process no-op tool.
func BenchmarkEnginePerStep(b *testing.B) {
	e := newEnv(b, ExecutorOptions{})
	p := mustParse(b, widePlan(100, true))
	benchRun(b, e.x, p, 100)
}

// BenchmarkCheck1000 validates a 1,000-step plan against the catalog.
func BenchmarkCheck1000(b *testing.B) {
	e := newEnv(b, ExecutorOptions{})
	doc := []byte(widePlan(1000, true))
	b.Run("check", func(b *testing.B) {
		p := mustParse(b, string(doc))
		b.ReportAllocs()
		for b.Loop() {
			if probs := Check(e.snap.View(nil), p); len(probs) != 0 {
				b.Fatal(probs[0])
			}
		}
	})
	b.Run("parse+check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := Parse(doc)
			if err != nil {
				b.Fatal(err)
			}
			if probs := Check(e.snap.View(nil), p); len(probs) != 0 {
				b.Fatal(probs[0])
			}
		}
	})
}

// BenchmarkRun1000 executes a 1,000-step plan through the real engine:
// "noop" reports the whole run time (tools take ~0); "sleep" runs 10
// layers of 100 steps of 5 ms at concurrency 100 and reports the overhead
// beyond the 50 ms critical path.
func BenchmarkRun1000(b *testing.B) {
	b.Run("noop", func(b *testing.B) {
		e := newEnv(b, ExecutorOptions{MaxConcurrency: 100})
		p := mustParse(b, widePlan(1000, true))
		benchRun(b, e.x, p, 1000)
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
	})
	b.Run("sleep", func(b *testing.B) {
		e := newEnv(b, ExecutorOptions{MaxConcurrency: 100})
		steps := make([]string, 1000)
		for i := range 1000 {
			var deps string
			if i >= 100 {
				deps = fmt.Sprintf(`,"depends_on":["s%d"]`, i-100)
			}
			steps[i] = fmt.Sprintf(`{"id":"s%d","tool":"t__sleep","args":{"ms":5}%s}`, i, deps)
		}
		p := mustParse(b, `{"steps":[`+strings.Join(steps, ",")+`]}`)
		var overhead time.Duration
		b.ResetTimer()
		for b.Loop() {
			r, err := e.x.Run(context.Background(), p, nil, RunOptions{})
			if err != nil || r.Status != RunSucceeded {
				b.Fatalf("run: %v", err)
			}
			overhead += r.Duration() - 50*time.Millisecond
		}
		b.ReportMetric(float64(overhead.Microseconds())/1000/float64(b.N), "overhead-ms")
	})
}

// BenchmarkCriticalPath is the scenario: a 3 × 100 ms critical
// path plus 30 independent 100 ms steps at concurrency 32.
func BenchmarkCriticalPath(b *testing.B) {
	e := newEnv(b, ExecutorOptions{MaxConcurrency: 32})
	steps := []string{`{"id":"c1","tool":"t__sleep","args":{"ms":100}}`,
		`{"id":"c2","tool":"t__sleep","args":{"ms":100},"depends_on":["c1"]}`,
		`{"id":"c3","tool":"t__sleep","args":{"ms":100},"depends_on":["c2"]}`}
	for i := range 30 {
		steps = append(steps, fmt.Sprintf(`{"id":"i%d","tool":"t__sleep","args":{"ms":100}}`, i))
	}
	p := mustParse(b, `{"steps":[`+strings.Join(steps, ",")+`]}`)
	var wall time.Duration
	for b.Loop() {
		r, err := e.x.Run(context.Background(), p, nil, RunOptions{})
		if err != nil || r.Status != RunSucceeded {
			b.Fatal(err)
		}
		wall += r.Duration()
	}
	b.ReportMetric(float64(wall.Microseconds())/1000/float64(b.N), "wall-ms")
}

// BenchmarkBareDAGPerStep is the floor BenchmarkSchedulerPerStep/chains is
// measured against: the same 100-step DAG (10 chains) run by a bare
// goroutine per step that waits on its dependency's channel, builds the
// same arguments (the dependency's result and a label) with json.Marshal,
// calls the same no-op caller and decodes the result as a step does — the
// JSON work of a step without records, events, limits or redaction.
func BenchmarkBareDAGPerStep(b *testing.B) {
	const n = 100
	var caller noopCaller
	b.ReportAllocs()
	for b.Loop() {
		done := make([]chan struct{}, n)
		results := make([]any, n)
		for i := range done {
			done[i] = make(chan struct{})
		}
		for i := range n {
			go func() {
				defer close(done[i])
				args := map[string]any{}
				if i >= 10 {
					<-done[i-10]
					args["prev"] = results[i-10]
					args["label"] = "after succeeded"
				}
				raw, err := json.Marshal(args)
				if err != nil {
					panic(err)
				}
				res, err := caller.CallWith(context.Background(), "t__noop", raw, engine.CallOptions{Caller: "plan"})
				if err != nil {
					panic(err)
				}
				results[i] = ResultValue(res)
			}()
		}
		for _, d := range done {
			<-d
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/step")
}
