package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/weft-dev/weft/catalog"
)

// llmStepSystemPrompt is the stable instruction of llm plan steps.
const llmStepSystemPrompt = `You are one step of a plan run by weft. Do exactly what the prompt asks, using only what it gives you. Answer concisely.`

// RunLLMStep answers one llm plan step with m: the prompt as the user
// message; with output (a JSON Schema), as structured output whose answer
// must parse and validate — when it does not, the model is told why and
// asked once more. It returns the step's result as JSON (the answer's text
// as a JSON string without output) and the tokens of every call made.
func RunLLMStep(ctx context.Context, m Model, prompt string, output json.RawMessage) (json.RawMessage, Usage, error) {
	var total Usage
	msgs := []Message{{Role: RoleSystem, Content: llmStepSystemPrompt}, {Role: RoleUser, Content: prompt}}
	req := ChatRequest{Messages: msgs}
	var schema *jsonschema.Schema
	if len(output) > 0 {
		var err error
		if schema, err = catalog.CompileSchema(output); err != nil {
			return nil, total, fmt.Errorf("llm step: output schema: %w", err)
		}
		// Not strict: a user's schema need not meet strict mode's rules
		// (every property required, no additional properties); the answer
		// is validated here instead.
		req.Output = &OutputSchema{Name: "step_output", Schema: output}
	}
	for attempt := 0; ; attempt++ {
		resp, err := m.Chat(ctx, req)
		if resp != nil {
			total = total.Add(resp.Usage)
		}
		if err != nil {
			return nil, total, err
		}
		if schema == nil {
			b, _ := json.Marshal(resp.Content)
			return b, total, nil
		}
		problem := validateAnswer(schema, resp.Content)
		if problem == "" {
			return json.RawMessage(resp.Content), total, nil
		}
		if attempt == 1 {
			return nil, total, fmt.Errorf("llm step: model %s: the answer is still invalid after one repair: %s", m.Name(), problem)
		}
		req.Messages = append(req.Messages, Message{Role: RoleAssistant, Content: resp.Content},
			Message{Role: RoleUser, Content: "That answer is invalid: " + problem + ". Answer again with JSON valid for the schema."})
	}
}

// validateAnswer returns "" when text is JSON valid for schema, else why not.
func validateAnswer(schema *jsonschema.Schema, text string) string {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(text)))
	if err != nil {
		return "not JSON: " + err.Error()
	}
	if err := schema.Validate(v); err != nil {
		return err.Error()
	}
	return ""
}
