// Package sandbox runs model-written TypeScript or JavaScript programs
// ("code mode") in a hard in-process sandbox: one fresh QuickJS VM per run
// (modernc.org/quickjs, pure Go), TypeScript stripped by esbuild, and a tool
// bridge through which every tools.<server>.<tool>(...) call goes back into
// weft's one call path (the engine), concurrently, with per-run limits on
// time, memory, calls, console output and result size.
//
// The package declares what it needs from the rest of weft as small
// interfaces (Tools, Searcher); NewEngineTools adapts an engine.Engine.
// See docs/sandbox.md for the programming model and the security model.
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
	"modernc.org/quickjs"
)

// Tools is what a run calls tools through: the current catalog snapshot and
// the call path. Call must honour ctx.
type Tools interface {
	Snapshot() *catalog.Snapshot
	Call(ctx context.Context, name string, args json.RawMessage) (*source.Result, error)
}

// Searcher finds tools for a query; searchTools(query, k) in a program uses it.
type Searcher interface {
	Search(ctx context.Context, query string, k int) ([]SearchHit, error)
}

// SearchHit is one tool a Searcher found.
type SearchHit struct {
	// Name is the tool's catalog name.
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// ErrSearchUnavailable is the rejection of searchTools when no Searcher is configured.
var ErrSearchUnavailable = errors.New("search unavailable: no tool search is configured for code mode")

// Options configure a Sandbox.
type Options struct {
	// Tools is the call path; required.
	Tools Tools
	// Searcher backs searchTools; nil makes it reject with "search unavailable".
	Searcher Searcher
	// MaxConcurrentRuns bounds runs executing at once (default 4×GOMAXPROCS);
	// further runs wait for a slot as long as their context allows.
	MaxConcurrentRuns int
	// MaxConcurrentRunsPerClient bounds the slots one client
	// (engine.ClientFrom) holds at once; freed slots go to waiting clients
	// in turn. The empty client (the local operator) is bounded by the
	// total only. The default, DefaultRunsPerClient, keeps one client's
	// busy programs from taking more than half the CPUs.
	MaxConcurrentRunsPerClient int
	// Defaults are the limits of a run that does not set them (zero fields: DefaultLimits).
	Defaults Limits
	// Max caps what a request may ask for (zero fields: MaxLimits).
	Max Limits
	// MaxSourceBytes bounds the size of a program's source (default
	// DefaultMaxSourceBytes); a larger program fails with kind source_limit
	// before any parser sees it.
	MaxSourceBytes int
	// MaxNesting bounds how deeply a program may nest (default
	// DefaultMaxNesting), as measured by a pre-scan before parsing: brackets,
	// template substitutions, arrow functions, prefix operators, conditional
	// and assignment chains, if/for/while/else bodies.
	MaxNesting int
}

// Defaults of the source limits.
const (
	DefaultMaxSourceBytes = 256 << 10
	DefaultMaxNesting     = 1000
)

// Sandbox runs programs. It is safe for concurrent use.
type Sandbox struct {
	tools    Tools
	searcher Searcher
	defaults Limits
	max      Limits
	slots    *runSlots
	prelude  []byte // the prelude's bytecode, compiled once

	maxSource, maxNesting int

	callExited func() // test hook: a call goroutine ended (after its outcome was handled)

	namesMu      sync.Mutex
	namesVersion string
	names        map[string]catalog.TSName
	scope        []*catalog.Tool
}

// DefaultRunsPerClient is the default bound on one client's concurrent
// runs, given the run slots and the CPUs: half of either, whichever is
// smaller, and at least 1. A program that loops or recurses until its
// deadline keeps a CPU busy; with at most half the CPUs running one
// client's programs, other clients' requests keep their normal latency
// (the hostile-client soak, docs/benchmarks.md: p50 0.9 ms beside 50
// hostile programs on 2 CPUs, against 3.3 ms with half the run slots).
func DefaultRunsPerClient(slots, cpus int) int {
	return max(1, min(slots/2, cpus/2))
}

// New builds a sandbox.
func New(opts Options) (*Sandbox, error) {
	if opts.Tools == nil {
		return nil, errors.New("sandbox: Options.Tools is required")
	}
	n := opts.MaxConcurrentRuns
	if n <= 0 {
		n = 4 * runtime.GOMAXPROCS(0)
	}
	ceiling := opts.Max.resolve(MaxLimits, Limits{})
	perClient := opts.MaxConcurrentRunsPerClient
	if perClient <= 0 {
		perClient = DefaultRunsPerClient(n, runtime.GOMAXPROCS(0))
	}
	bc, err := compilePrelude()
	if err != nil {
		return nil, err
	}
	return &Sandbox{
		prelude:  bc,
		tools:    opts.Tools,
		searcher: opts.Searcher,
		max:      ceiling,
		defaults: opts.Defaults.resolve(DefaultLimits, ceiling),
		slots:    newRunSlots(n, min(perClient, n)),

		maxSource:  positiveOr(opts.MaxSourceBytes, DefaultMaxSourceBytes),
		maxNesting: positiveOr(opts.MaxNesting, DefaultMaxNesting),
	}, nil
}

func positiveOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// compilePrelude compiles the prelude to QuickJS bytecode once, so a run
// does not parse it again.
func compilePrelude() ([]byte, error) {
	vm, err := quickjs.NewVM()
	if err != nil {
		return nil, fmt.Errorf("sandbox: new VM: %w", err)
	}
	defer vm.Close()
	bc, err := vm.Compile(prelude, quickjs.EvalGlobal)
	if err != nil {
		return nil, fmt.Errorf("sandbox: compile prelude: %w", err)
	}
	return bc, nil
}

// Limits returns the effective limits of a request asking for req.
func (s *Sandbox) Limits(req Limits) Limits { return req.resolve(s.defaults, s.max) }

// Run executes one program. It waits for a run slot (bounded by
// Options.MaxConcurrentRuns) as long as ctx allows. A program that fails —
// syntax error, exception, exceeded limit — is reported in RunResult.Error
// with a nil error; the error return is for failures to run at all (ctx
// done while waiting for a slot, an empty program).
func (s *Sandbox) Run(ctx context.Context, req Request) (*RunResult, error) {
	if strings.TrimSpace(req.Code) == "" {
		return nil, errors.New("sandbox: the program is empty")
	}
	if len(req.Inputs) > 0 && !json.Valid(req.Inputs) {
		return nil, errors.New("sandbox: inputs is not valid JSON")
	}
	switch req.Language {
	case "", TypeScript, JavaScript:
	default:
		return nil, fmt.Errorf("sandbox: unknown language %q (allowed: \"ts\", \"js\")", req.Language)
	}
	if rerr := s.checkSource(req.Code); rerr != nil {
		return &RunResult{Error: rerr}, nil
	}
	if len(req.AllowedTools) > 0 {
		names := make(toolNames, len(req.AllowedTools))
		for _, n := range req.AllowedTools {
			names[n] = true
		}
		ctx = engine.WithPolicy(ctx, names)
	}
	client := engine.ClientFrom(ctx)
	if err := s.slots.acquire(ctx, client); err != nil {
		return nil, fmt.Errorf("sandbox: waiting for a run slot: %w", err)
	}
	defer s.slots.release(client)

	start := time.Now()
	r := newRun(ctx, s, req, s.Limits(req.Limits), start)
	res := r.execute()
	res.Duration = time.Since(start)
	return res, nil
}

// checkSource applies the source limits: size, then the nesting pre-scan
// (which also rejects a program that closes more brackets than it opens).
func (s *Sandbox) checkSource(code string) *RunError {
	if len(code) > s.maxSource {
		return &RunError{Kind: KindSourceLimit, Message: fmt.Sprintf("the program is %d bytes, more than the limit of %d bytes (code.max_source_kb)", len(code), s.maxSource)}
	}
	return scanSource(code, s.maxNesting)
}

// viewFor returns the catalog as the caller on ctx sees it: tools outside
// its policy (engine.PolicyFrom) do not exist for the run.
func (s *Sandbox) viewFor(ctx context.Context) *catalog.View {
	snap := s.tools.Snapshot()
	if p := engine.PolicyFrom(ctx); p != nil {
		return snap.View(p.Allows)
	}
	return snap.View(nil)
}

// namesFor returns the code-mode identifiers of the view's tools, computed
// over the tools the caller sees (a hidden tool cannot rename a visible
// one, so identifiers reveal nothing about hidden tools). The unfiltered
// view's names are cached per snapshot version.
func (s *Sandbox) namesFor(view *catalog.View) (map[string]catalog.TSName, []*catalog.Tool) {
	if view.Filtered() {
		scope := view.Tools()
		return catalog.TypeScriptNames(scope), scope
	}
	s.namesMu.Lock()
	defer s.namesMu.Unlock()
	if s.names != nil && s.namesVersion == view.Version() {
		return s.names, s.scope
	}
	scope := view.Tools()
	s.names, s.scope, s.namesVersion = catalog.TypeScriptNames(scope), scope, view.Version()
	return s.names, s.scope
}

// Typings returns the TypeScript declarations a model needs to write a
// program against tools: the tools namespace (identifiers as in a run by the
// caller on ctx, whose policy decides which tools exist) and the globals
// every program has. Tools the policy hides are left out.
func (s *Sandbox) Typings(ctx context.Context, tools []*catalog.Tool) string {
	view := s.viewFor(ctx)
	_, scope := s.namesFor(view)
	visible := make([]*catalog.Tool, 0, len(tools))
	for _, t := range tools {
		if view.Allows(t) {
			visible = append(visible, t)
		}
	}
	return catalog.TypeScriptDeclarations(visible, catalog.TSOptions{NameScope: scope}) + globalTypings
}

// toolNames is the policy of Request.AllowedTools: exactly these catalog
// names (servers' resources and prompts are not a sandbox matter).
type toolNames map[string]bool

func (n toolNames) Allows(t *catalog.Tool) bool { return n[t.Name] }

func (n toolNames) AllowsServer(string) bool { return true }

const globalTypings = `/** A tool call failed: the tool reported an error, or weft could not call it. */
declare class ToolError extends Error { tool: string; code: string; }
/** Calls a tool by its catalog name. */
declare function callTool(name: string, args?: Record<string, unknown>): Promise<unknown>;
/** Finds tools for a query; path is how to call each one. */
declare function searchTools(query: string, k?: number): Promise<{ name: string; path: string; description: string; signature: string; score: number }[]>;
declare const console: { log(...data: unknown[]): void; info(...data: unknown[]): void; warn(...data: unknown[]): void; error(...data: unknown[]): void };
declare function setTimeout(fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): number;
declare function clearTimeout(id: number): void;
`

// EngineTools adapts an engine.Engine (and the catalog it reads) to Tools.
// Calls are made with Caller "sandbox".
type EngineTools struct {
	Catalog engine.Catalog
	Engine  *engine.Engine
}

// Snapshot returns the catalog's current snapshot.
func (t EngineTools) Snapshot() *catalog.Snapshot { return t.Catalog.Snapshot() }

// Call calls the tool through the engine.
func (t EngineTools) Call(ctx context.Context, name string, args json.RawMessage) (*source.Result, error) {
	return t.Engine.CallWith(ctx, name, args, engine.CallOptions{Caller: "sandbox"})
}
