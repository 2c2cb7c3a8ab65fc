package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/weft-dev/weft/plan"
)

// planSchema is the strict JSON Schema of the plan the model writes: weft's
// plan format restricted to what strict structured output can express.
// Strict mode wants every property required and no free-form objects, so
// a step's arguments are a JSON text (args_json) and absent values are null.
const planSchema = `{
  "type": "object",
  "additionalProperties": false,
  "required": ["steps", "synthesis_prompt"],
  "properties": {
    "synthesis_prompt": {"type": ["string", "null"], "description": "The instructions for writing the final answer, referencing the step results it needs as {{steps.<id>.result...}}; null to give the writer every step result."},
    "steps": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["id", "tool", "args_json", "code", "llm_prompt", "depends_on"],
        "properties": {
          "id": {"type": "string", "description": "Unique step id: letters, digits, _ and -, starting with a letter."},
          "tool": {"type": ["string", "null"], "description": "The tool to call (exact name), or null for a code step."},
          "args_json": {"type": ["string", "null"], "description": "The tool's arguments as a JSON object text; strings may hold references such as {{steps.<id>.result}}."},
          "code": {"type": ["string", "null"], "description": "A TypeScript program (async function body; return its value) for a code step, or null."},
          "llm_prompt": {"type": ["string", "null"], "description": "For a cheap language step done by a small model (summarise, classify, extract, translate a step result): its prompt, referencing step results as {{steps.<id>.result...}}; else null."},
          "depends_on": {"type": "array", "items": {"type": "string"}, "description": "Ids of steps that must finish first besides those referenced."}
        }
      }
    }
  }
}`

// planSystemPrompt is the planner's stable instructions (first in every
// planning prompt, so provider prompt caching hits).
const planSystemPrompt = `You are weft's planner. Write a plan that answers the user's request using only the tools listed.
A plan is a DAG of steps. Each step either calls one tool (tool + args_json), runs a small TypeScript program (code), or has a small model do a language task over earlier results (llm_prompt).
Reference the result of an earlier step inside argument strings as {{steps.<id>.result}} (a tool's result is its structured content when it has one, else its text; select fields with .field or [index]).
Use exact tool names and valid arguments for their signatures; in code, the tool <server>__<tool> is await tools.<server>.<tool>(args). Prefer few steps; independent steps run in parallel.
If the tools cannot serve the request, return a plan with the single most relevant step.
synthesis_prompt tells the writer of the final answer what to say, quoting only the step results it needs ({{steps.<id>.result.<field>}}); use null to hand it every result.`

// synthesisSystemPrompt is the synthesis call's stable instructions.
const synthesisSystemPrompt = `You are weft. Answer the user's request from the results of the steps that were run for it (or from the planner's instructions, which quote the results they need).
Be direct and concise. Use only the results; say plainly when a step failed or a result does not answer the request.`

// modelPlan is the structured output of the planner.
type modelPlan struct {
	SynthesisPrompt *string `json:"synthesis_prompt"`
	Steps           []struct {
		ID        string   `json:"id"`
		Tool      *string  `json:"tool"`
		ArgsJSON  *string  `json:"args_json"`
		Code      *string  `json:"code"`
		LLMPrompt *string  `json:"llm_prompt"`
		DependsOn []string `json:"depends_on"`
	} `json:"steps"`
}

// plan runs the plan strategy.
func (r *Runner) plan(ctx context.Context, m *meter, request string) error {
	res := m.res
	k := r.CandidateTools
	if k <= 0 {
		k = 20
	}
	cands, all, err := r.Tools.Candidates(ctx, request, k)
	if err != nil {
		return fmt.Errorf("ask: search for candidate tools: %w", err)
	}
	res.AllTools = all
	defer func() {
		if res.Answer != "" {
			m.ev.emit(Event{Type: EventAnswer, Answer: res.Answer})
		}
	}()
	names := make([]string, len(cands))
	for i, t := range cands {
		names[i] = t.Name
	}
	m.ev.emit(Event{Type: EventCandidates, Tools: names, All: all})
	res.Candidates = names
	msgs := PlanMessages(request, cands)
	out := PlanOutput()
	var p *plan.Plan
	for round := 0; ; round++ {
		purpose := "plan"
		if round > 0 {
			purpose = "repair"
			res.Repairs = round
		}
		resp, err := m.chat(ctx, purpose, ChatRequest{Messages: msgs, Output: out})
		if err != nil {
			return err
		}
		var probs []plan.Problem
		p, probs = toPlan(resp.Content, runName(request))
		if p != nil {
			res.Plan = p
			probs = r.Tools.CheckPlan(ctx, p)
		}
		res.Problems = probs
		m.ev.emit(Event{Type: EventPlan, Plan: p, Problems: probs})
		if len(probs) == 0 {
			break
		}
		if round >= r.RepairRounds {
			return &PlanError{Rounds: round, Problems: probs}
		}
		var fix strings.Builder
		fix.WriteString("The plan has these problems; return the whole corrected plan:\n")
		for _, pr := range probs {
			fix.WriteString("- ")
			fix.WriteString(pr.String())
			fix.WriteString("\n")
		}
		msgs = append(msgs, Message{Role: RoleAssistant, Content: resp.Content}, Message{Role: RoleUser, Content: fix.String()})
	}
	run, err := r.Tools.RunPlan(ctx, p, func(e plan.Event) { m.ev.emit(Event{Type: EventStep, Step: &e}) })
	if run != nil {
		res.Run = run
	}
	if err != nil {
		return fmt.Errorf("ask: run the plan: %w", err)
	}
	input, err := synthesisInput(run)
	if err != nil {
		return err
	}
	resp, err := m.answer(ctx, "synthesis", ChatRequest{Messages: []Message{
		{Role: RoleSystem, Content: synthesisSystemPrompt},
		{Role: RoleUser, Content: "Request: " + request + "\n\n" + input},
	}})
	if err != nil {
		return err
	}
	res.Answer = resp.Content
	return nil
}

// runName names a plan written for request, so that run listings say what
// the run was for: "ask: " and the request's first 80 characters.
func runName(request string) string {
	r := []rune(strings.Join(strings.Fields(request), " "))
	if len(r) > 80 {
		r = append(r[:80], '…')
	}
	return "ask: " + string(r)
}

// PlanMessages is the plan strategy's prompt for request over the candidate
// tools: the stable instructions, then the tool block (each tool as a
// compact TypeScript signature under its catalog name, with its
// description), then the request — stable parts first, so that provider
// prompt caching hits across requests.
func PlanMessages(request string, tools []ToolInfo) []Message {
	var block strings.Builder
	block.WriteString("Tools (TypeScript signatures; call them by the exact name):\n")
	for _, t := range tools {
		block.WriteString("\n")
		if t.Description != "" {
			fmt.Fprintf(&block, "/** %s */\n", oneLine(t.Description))
		}
		if i := strings.IndexByte(t.Signature, '('); i > 0 {
			// The signature names the tool by its local name; the plan
			// needs the catalog name.
			block.WriteString(t.Name + t.Signature[i:])
		} else {
			block.WriteString(t.Name)
		}
		block.WriteString("\n")
	}
	return []Message{
		{Role: RoleSystem, Content: planSystemPrompt},
		{Role: RoleSystem, Content: block.String()},
		{Role: RoleUser, Content: request},
	}
}

// PlanOutput is the planner's structured output: the strict JSON Schema
// of the plan it writes.
func PlanOutput() *OutputSchema {
	return &OutputSchema{Name: "weft_plan", Schema: json.RawMessage(planSchema), Strict: true}
}

// toPlan turns the planner's structured output into a weft plan named
// name, or the problems that prevent it (paths name the model's fields).
func toPlan(content, name string) (*plan.Plan, []plan.Problem) {
	var mp modelPlan
	if err := json.Unmarshal([]byte(content), &mp); err != nil {
		return nil, []plan.Problem{{Code: plan.ProblemSyntax, Message: "the plan is not JSON of the requested schema: " + err.Error()}}
	}
	var probs []plan.Problem
	steps := make([]map[string]any, 0, len(mp.Steps))
	for i, s := range mp.Steps {
		st := map[string]any{"id": s.ID}
		if s.Tool != nil && *s.Tool != "" {
			st["tool"] = *s.Tool
			args := map[string]any{}
			if s.ArgsJSON != nil && strings.TrimSpace(*s.ArgsJSON) != "" {
				if err := json.Unmarshal([]byte(*s.ArgsJSON), &args); err != nil {
					probs = append(probs, plan.Problem{Path: fmt.Sprintf("steps[%d].args_json", i), Code: plan.ProblemInvalid,
						Message: "not a JSON object of arguments: " + err.Error()})
				}
			}
			st["args"] = args
		}
		if s.Code != nil && *s.Code != "" {
			st["code"] = *s.Code
		}
		if s.LLMPrompt != nil && *s.LLMPrompt != "" {
			st["llm"] = map[string]any{"prompt": *s.LLMPrompt}
		}
		if len(s.DependsOn) > 0 {
			st["depends_on"] = s.DependsOn
		}
		steps = append(steps, st)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	pm := map[string]any{"name": name, "steps": steps}
	if mp.SynthesisPrompt != nil && strings.TrimSpace(*mp.SynthesisPrompt) != "" {
		// An output of the plan: the executor resolves its references
		// after the run, and the check validates them beforehand.
		pm["outputs"] = map[string]any{synthesisOutput: *mp.SynthesisPrompt}
	}
	doc, err := json.Marshal(pm)
	if err != nil {
		return nil, []plan.Problem{{Code: plan.ProblemInvalid, Message: err.Error()}}
	}
	p, err := plan.Parse(doc)
	if err != nil {
		var pe *plan.ProblemsError
		if errors.As(err, &pe) {
			return nil, pe.Problems
		}
		return nil, []plan.Problem{{Code: plan.ProblemInvalid, Message: err.Error()}}
	}
	return p, nil
}

// synthesisOutput is the plan output holding the model's synthesis prompt
// (final_synthesis.prompt_template of the replaced system's plans).
const synthesisOutput = "synthesis_prompt"

// synthesisInput is what the synthesis call is given: the plan's own
// synthesis prompt with its references resolved, plus the failed steps;
// else every step's result.
func synthesisInput(run *plan.Run) (string, error) {
	if tmpl, ok := run.Outputs[synthesisOutput]; ok {
		text, isText := tmpl.(string)
		if !isText {
			b, _ := json.Marshal(tmpl)
			text = string(b)
		}
		var failed []stepSummary
		for _, s := range stepSummaries(run) {
			if s.Status != string(plan.StepSucceeded) {
				s.Result = nil
				failed = append(failed, s)
			}
		}
		if len(failed) > 0 {
			b, _ := json.Marshal(failed)
			text += "\n\nSteps that did not succeed (JSON):\n" + string(b)
		}
		return clipAnswer(text), nil
	}
	results, err := json.Marshal(stepSummaries(run))
	if err != nil {
		return "", fmt.Errorf("ask: encode step results: %w", err)
	}
	return "Step results (JSON):\n" + clipAnswer(string(results)), nil
}

// stepSummary is a step's outcome as the synthesis call sees it.
type stepSummary struct {
	ID     string `json:"id"`
	Tool   string `json:"tool,omitempty"`
	Status string `json:"status"`
	Result any    `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

func stepSummaries(run *plan.Run) []stepSummary {
	out := make([]stepSummary, 0, len(run.Steps))
	for _, s := range run.Steps {
		sum := stepSummary{ID: s.ID, Tool: s.Tool, Status: string(s.Status), Result: s.Result}
		if s.Error != nil {
			sum.Error = s.Error.Error()
		}
		out = append(out, sum)
	}
	return out
}

// oneLine collapses whitespace so that a description fits a doc comment.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.ReplaceAll(s, "*/", "* /")
}
