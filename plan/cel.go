package plan

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
)

// condition is a compiled `when` expression.
type condition struct {
	expr    string
	prg     cel.Program
	steps   []string // step ids the expression reads
	useItem bool     // reads item or index
}

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
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, err
	}
	c := &condition{expr: expr, prg: prg}
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

// eval runs the condition over the given variables.
func (c *condition) eval(vars map[string]any) (bool, error) {
	out, _, err := c.prg.Eval(vars)
	if err != nil {
		return false, fmt.Errorf("when %q: %v", c.expr, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("when %q: yielded %v, not a bool", c.expr, out.Value())
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
