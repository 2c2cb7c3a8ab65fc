package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"

	"github.com/weft-dev/weft/engine"
)

// condition is a compiled `when` expression.
type condition struct {
	expr    string
	ast     *cel.Ast
	prg     cel.Program // set by prepare, with the run's cost limit
	limit   uint64
	steps   []string // step ids the expression reads
	useItem bool     // reads item or index
}

// interruptEvery is how many comprehension iterations a condition runs
// between checks of its context: a canceled run or an expired step ends an
// evaluation within that many iterations.
const interruptEvery = 100

var (
	celOnce sync.Once
	celEnv  *cel.Env
	celErr  error
)

// conditionEnv declares the variables a condition sees: steps (each step's
// {result, error, status, attempts}), inputs, item and index.
func conditionEnv() (*cel.Env, error) {
	celOnce.Do(func() {
		celEnv, celErr = cel.NewEnv(
			cel.Variable("steps", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("inputs", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("item", cel.DynType),
			cel.Variable("index", cel.IntType),
		)
	})
	return celEnv, celErr
}

// compileCondition compiles a CEL expression that must yield a boolean.
func compileCondition(expr string) (*condition, error) {
	env, err := conditionEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("%s", strings.ReplaceAll(iss.Err().Error(), "\n", " "))
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("the condition yields %s; it must yield a bool", t)
	}
	c := &condition{expr: expr, ast: ast}
	seen := map[string]bool{}
	for _, e := range celast.MatchDescendants(celast.NavigateAST(ast.NativeRep()), celast.AllMatcher()) {
		switch e.Kind() {
		case celast.IdentKind:
			if n := e.AsIdent(); n == "item" || n == "index" {
				c.useItem = true
			}
		case celast.SelectKind:
			sel := e.AsSelect()
			if sel.Operand().Kind() == celast.IdentKind && sel.Operand().AsIdent() == "steps" && !seen[sel.FieldName()] {
				seen[sel.FieldName()] = true
				c.steps = append(c.steps, sel.FieldName())
			}
		case celast.CallKind:
			call := e.AsCall()
			if call.FunctionName() != operators.Index || len(call.Args()) != 2 {
				continue
			}
			op, key := call.Args()[0], call.Args()[1]
			if op.Kind() == celast.IdentKind && op.AsIdent() == "steps" && key.Kind() == celast.LiteralKind {
				if s, ok := key.AsLiteral().Value().(string); ok && !seen[s] {
					seen[s] = true
					c.steps = append(c.steps, s)
				}
			}
		}
	}
	return c, nil
}

// prepare builds the condition's program with a cost limit: evaluation
// stops with an error once it has cost more than limit.
func (c *condition) prepare(limit uint64) error {
	env, err := conditionEnv()
	if err != nil {
		return err
	}
	prg, err := env.Program(c.ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(limit), cel.InterruptCheckFrequency(interruptEvery))
	if err != nil {
		return fmt.Errorf("when %q: %w", c.expr, err)
	}
	c.prg, c.limit = prg, limit
	return nil
}

// unknownCost: CEL estimates a list of unknown size as very long, and
// saturates; an estimate this high says the cost depends on the run's
// values, not that the expression is expensive.
const unknownCost = 1 << 48

// staticCost is what evaluating the condition costs at most, estimated
// statically; ok is false when that depends on values only the run has
// (the size of a list in the inputs or a step's result) or when CEL
// cannot estimate it.
func (c *condition) staticCost() (uint64, bool) {
	env, err := conditionEnv()
	if err != nil {
		return 0, false
	}
	est, err := env.EstimateCost(c.ast, noSizes{})
	if err != nil || est.Max >= unknownCost {
		return 0, false
	}
	return est.Max, true
}

// noSizes is a cost estimator that knows nothing beyond CEL's defaults.
type noSizes struct{}

func (noSizes) EstimateSize(checker.AstNode) *checker.SizeEstimate { return nil }

func (noSizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// conditionError is why a condition did not yield a value.
type conditionError struct {
	code string
	msg  string
}

func (e *conditionError) Error() string { return e.msg }

// eval runs the condition over the given variables. It ends when ctx is
// done (code canceled or timeout) or when the evaluation costs more than
// the limit (code limit_exceeded).
//
// The evaluation's cost is added to spent (the run's condition budget).
func (c *condition) eval(ctx context.Context, vars map[string]any, spent *atomic.Uint64) (bool, error) {
	out, det, err := c.prg.ContextEval(ctx, vars)
	cost := c.limit // what an evaluation stopped at the limit cost
	if det != nil {
		if n := det.ActualCost(); n != nil {
			cost = *n
		}
	}
	if spent != nil {
		spent.Add(cost)
	}
	if err != nil {
		switch {
		case ctx.Err() == context.DeadlineExceeded:
			return false, &conditionError{string(engine.CodeTimeout), fmt.Sprintf("when %q: evaluation did not finish before the step's deadline", c.expr)}
		case ctx.Err() != nil:
			return false, &conditionError{string(engine.CodeCanceled), fmt.Sprintf("when %q: evaluation canceled", c.expr)}
		case strings.Contains(err.Error(), "cost limit exceeded"):
			return false, &conditionError{CodeLimit, fmt.Sprintf("when %q: evaluation cost more than the limit of %d (plans.max_condition_cost)", c.expr, c.limit)}
		}
		return false, &conditionError{CodeCondition, fmt.Sprintf("when %q: %v", c.expr, err)}
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, &conditionError{CodeCondition, fmt.Sprintf("when %q: yielded %v, not a bool", c.expr, out.Value())}
	}
	return b, nil
}

// toCEL converts decoded JSON (json.Number) into values CEL understands:
// integers as int64, other numbers as float64.
func toCEL(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toCEL(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toCEL(e)
		}
		return out
	case int:
		return int64(x)
	}
	return v
}
