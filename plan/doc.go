// Package plan owns weft's typed DAG workflows: the plan model and its JSON
// format (plus the legacy format of the system weft replaces, converted on
// parse), references between steps ("{{steps.fetch.result.items[0].id}}"),
// CEL conditions, static validation against the catalog as the caller sees
// it, execution (a step starts the moment its own dependencies are done;
// retries with backoff, per-step timeouts, idempotency with in-flight
// collapsing, partial results on failure), limits (steps, nesting, foreach
// elements, result bytes, condition cost), progress events, and run records
// in SQLite — owned by the client that started the run and redacted.
//
// The package calls tools through the small Caller interface (satisfied by
// *engine.Engine) and code steps through CodeRunner; the facade wires both.
//
// A typical use:
//
//	p, err := plan.Parse(data)             // *ProblemsError with line:col on bad JSON
//	if probs := plan.Check(view, p); len(probs) > 0 { ... }
//	x := plan.NewExecutor(plan.ExecutorOptions{Caller: eng})
//	run, err := x.Run(ctx, p, inputs, plan.RunOptions{Catalog: view})
package plan
