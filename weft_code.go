package weft

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/sandbox"
)

// RunCode runs a code-mode program: a TypeScript/JavaScript async function
// body whose tools.* calls go through the engine. A program that fails is
// reported in the result's Error with a nil error.
func (o *Orchestrator) RunCode(ctx context.Context, req sandbox.Request) (*sandbox.RunResult, error) {
	sb, err := o.codeSandbox()
	if err != nil {
		return nil, err
	}
	if o.tracer != nil {
		return o.runCodeObserved(o.runCodeTraced(ctx, sb, req))
	}
	return o.runCodeObserved(sb.Run(ctx, req))
}

func (o *Orchestrator) codeSandbox() (*sandbox.Sandbox, error) {
	o.sandboxOnce.Do(func() {
		cc := o.cfg.Code
		o.sandbox, o.sandboxErr = sandbox.New(sandbox.Options{
			Tools:                      sandbox.EngineTools{Catalog: o.set, Engine: o.engine},
			Searcher:                   sandboxSearcher{o},
			MaxConcurrentRuns:          cc.MaxConcurrentRuns,
			MaxConcurrentRunsPerClient: cc.MaxConcurrentRunsPerClient,
			Defaults:                   sandbox.Limits{Timeout: cc.Timeout.D(), MemoryBytes: int64(cc.MemoryMB) << 20, MaxCalls: cc.MaxCalls},
			// Ceilings: a request asking for more is clamped to them.
			Max:            sandbox.Limits{Timeout: cc.MaxTimeout.D(), MemoryBytes: int64(cc.MaxMemoryMB) << 20, MaxCalls: cc.MaxCallsCeiling},
			MaxSourceBytes: cc.MaxSourceKB << 10,
			MaxNesting:     cc.MaxNesting,
		})
	})
	if o.sandboxErr != nil {
		return nil, fmt.Errorf("weft: code mode: %w", o.sandboxErr)
	}
	return o.sandbox, nil
}

// Typings returns TypeScript declarations of the named tools for code mode
// (every tool the caller on ctx may see when names is empty). Unknown names,
// and names outside the caller's policy, fail with ErrNotFound.
func (o *Orchestrator) Typings(ctx context.Context, names []string) (string, error) {
	view := o.View(ctx)
	var tools []*catalog.Tool
	if len(names) == 0 {
		tools = view.Tools()
	}
	for _, n := range slices.Compact(slices.Sorted(slices.Values(names))) {
		t, ok := view.Get(n)
		if !ok {
			return "", fmt.Errorf("tool %q: %w", n, ErrNotFound)
		}
		tools = append(tools, t)
	}
	sb, err := o.codeSandbox()
	if err != nil {
		return "", err
	}
	return sb.Typings(ctx, tools), nil
}

// codeRunner adapts the sandbox to plan.CodeRunner: the inputs are bound to
// the program's read-only global `inputs`.
type codeRunner struct{ o *Orchestrator }

func (c codeRunner) RunCode(ctx context.Context, code string, inputs map[string]any) (json.RawMessage, error) {
	in, err := json.Marshal(inputs)
	if err != nil {
		return nil, fmt.Errorf("code step inputs: %w", err)
	}
	res, err := c.o.RunCode(ctx, sandbox.Request{Code: code, Language: sandbox.TypeScript, Inputs: in})
	if err != nil {
		return nil, err
	}
	if res.Error != nil {
		return nil, res.Error
	}
	return res.Result, nil
}
