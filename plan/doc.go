// Package plan owns weft's typed DAG workflows: the plan model and its JSON
// format (plus the legacy format of the system weft replaces, converted on
// parse), references between steps ("{{steps.fetch.result.items[0].id}}"),
// CEL conditions, static validation against a catalog snapshot, execution
// (a step starts the moment its own dependencies are done; retries with
// backoff, per-step timeouts, idempotency with in-flight collapsing,
// partial results on failure), progress events, and run records in SQLite.
//
// The package calls tools through the small Caller interface (satisfied by
// *engine.Engine) and code steps through CodeRunner; the facade wires both.
//
// A typical use:
//
//	p, err := plan.Parse(data)             // *ParseError with line:col on bad JSON
//	if probs := plan.Check(snap, p); len(probs) > 0 { ... }
//	x := plan.NewExecutor(plan.ExecutorOptions{Caller: eng})
//	run, err := x.Run(ctx, p, inputs, plan.RunOptions{Snapshot: snap})
package plan
