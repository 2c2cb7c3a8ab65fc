package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
)

// ProviderAnthropic is Anthropic's Messages API, through the official
// Anthropic Go SDK.
const ProviderAnthropic = "anthropic"

// DefaultAnthropicEndpoint is the Messages API's base URL.
const DefaultAnthropicEndpoint = "https://api.anthropic.com"

// DefaultAnthropicMaxTokens bounds a completion when the request says
// nothing: the Messages API requires max_tokens.
const DefaultAnthropicMaxTokens = 8192

// anthropicClient is a Client's Messages API backend.
type anthropicClient struct {
	c        *Client
	messages anthropic.MessageService
}

// newAnthropic builds the Messages API backend of c. Like the OpenAI
// backend it reads no environment variable (NewMessageService, unlike
// anthropic.NewClient, reads no ANTHROPIC_* variable): the key and the
// base URL come from the configuration.
func newAnthropic(c *Client, base string) (*anthropicClient, error) {
	if c.cfg.APIKey == "" {
		return nil, fmt.Errorf("agent: model %s: provider anthropic needs APIKey", c.cfg.Name)
	}
	if c.cfg.Credential != nil {
		return nil, fmt.Errorf("agent: model %s: Credential (Entra ID) is for provider azure-openai", c.cfg.Name)
	}
	svc := anthropic.NewMessageService(
		aoption.WithBaseURL(base),
		aoption.WithAPIKey(c.cfg.APIKey),
		aoption.WithHTTPClient(c.cfg.HTTPClient),
		// 408, 409, 429, 5xx and connection errors are retried, waiting
		// for the server's Retry-After(-Ms) when it sends one.
		aoption.WithMaxRetries(c.cfg.MaxRetries),
		aoption.WithRequestTimeout(c.cfg.Timeout),
	)
	return &anthropicClient{c: c, messages: svc}, nil
}

func (a *anthropicClient) chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	params, err := a.params(req)
	if err != nil {
		return nil, err
	}
	msg, err := a.messages.New(ctx, params)
	if err != nil {
		return nil, a.mapError(ctx, err)
	}
	return a.response(req, msg)
}

func (a *anthropicClient) stream(ctx context.Context, req ChatRequest, onDelta func(string)) (*ChatResponse, error) {
	params, err := a.params(req)
	if err != nil {
		return nil, err
	}
	s := a.messages.NewStreaming(ctx, params)
	defer s.Close()
	var msg anthropic.Message
	for s.Next() {
		ev := s.Current()
		if err := msg.Accumulate(ev); err != nil {
			return nil, &ModelError{Model: a.c.cfg.Name, Deployment: a.c.cfg.Model, Message: "stream: " + err.Error()}
		}
		if ev.Type == "content_block_delta" && ev.Delta.Type == "text_delta" && ev.Delta.Text != "" && onDelta != nil {
			onDelta(ev.Delta.Text)
		}
	}
	if err := s.Err(); err != nil {
		return nil, a.mapError(ctx, err)
	}
	return a.response(req, &msg)
}

// params converts a request to the SDK's parameters. System messages
// become the system prompt, whose last block is a prompt-cache breakpoint
// (the tool definitions and the system prompt, which come first and do not
// change between calls, are then read from the cache); tool results that
// answer one assistant turn go back together in one user message.
func (a *anthropicClient) params(req ChatRequest) (anthropic.MessageNewParams, error) {
	p := anthropic.MessageNewParams{Model: anthropic.Model(a.c.cfg.Model), MaxTokens: DefaultAnthropicMaxTokens}
	if req.MaxTokens > 0 {
		p.MaxTokens = int64(req.MaxTokens)
	}
	for _, m := range req.Messages {
		switch m.Role {
		case RoleSystem:
			p.System = append(p.System, anthropic.TextBlockParam{Text: m.Content})
		case RoleTool:
			block := anthropic.NewToolResultBlock(m.ToolCallID, m.Content, false)
			if n := len(p.Messages); n > 0 && isToolResults(p.Messages[n-1]) {
				u := p.Messages[n-1].OfUser
				u.Content = append(u.Content, block)
				continue
			}
			p.Messages = append(p.Messages, anthropic.NewUserMessage(block))
		case RoleAssistant:
			var blocks []anthropic.ContentBlockParamUnion
			if m.Content != "" {
				blocks = append(blocks, anthropic.NewTextBlock(m.Content))
			}
			for _, tc := range m.ToolCalls {
				var input any = json.RawMessage(tc.Arguments)
				if !json.Valid([]byte(tc.Arguments)) {
					input = map[string]any{}
				}
				blocks = append(blocks, anthropic.NewToolUseBlock(tc.ID, input, tc.Name))
			}
			if len(blocks) == 0 {
				blocks = append(blocks, anthropic.NewTextBlock(" "))
			}
			p.Messages = append(p.Messages, anthropic.NewAssistantMessage(blocks...))
		default:
			p.Messages = append(p.Messages, anthropic.NewUserMessage(anthropic.NewTextBlock(m.Content)))
		}
	}
	if n := len(p.System); n > 0 {
		p.System[n-1].CacheControl = anthropic.NewCacheControlEphemeralParam()
	}
	for _, t := range req.Tools {
		schema, err := toolSchema(t)
		if err != nil {
			return p, err
		}
		tp := anthropic.ToolParam{Name: t.Name, InputSchema: schema}
		if t.Description != "" {
			tp.Description = anthropic.String(t.Description)
		}
		p.Tools = append(p.Tools, anthropic.ToolUnionParam{OfTool: &tp})
	}
	if req.Output != nil {
		var schema map[string]any
		if err := json.Unmarshal(req.Output.Schema, &schema); err != nil {
			return p, fmt.Errorf("agent: output schema %s is not a JSON object: %w", req.Output.Name, err)
		}
		// Structured output: the answer is JSON valid for the schema.
		p.OutputConfig = anthropic.OutputConfigParam{Format: anthropic.JSONOutputFormatParam{Schema: schema}}
	}
	return p, nil
}

// isToolResults reports whether a user message holds tool results only.
func isToolResults(m anthropic.MessageParam) bool {
	if m.OfUser == nil {
		return false
	}
	for _, b := range m.OfUser.Content {
		if b.OfToolResult == nil {
			return false
		}
	}
	return len(m.OfUser.Content) > 0
}

// toolSchema converts a tool's JSON Schema (an object schema) to the SDK's
// input_schema: properties and required as such, every other keyword kept.
func toolSchema(t ToolDef) (anthropic.ToolInputSchemaParam, error) {
	var s anthropic.ToolInputSchemaParam
	if len(t.Parameters) == 0 {
		return s, nil
	}
	var m map[string]any
	if err := json.Unmarshal(t.Parameters, &m); err != nil {
		return s, fmt.Errorf("agent: tool %s: parameters are not a JSON object: %w", t.Name, err)
	}
	s.Properties = m["properties"]
	if req, ok := m["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				s.Required = append(s.Required, name)
			}
		}
	}
	delete(m, "properties")
	delete(m, "required")
	delete(m, "type")
	if len(m) > 0 {
		s.ExtraFields = m
	}
	return s, nil
}

// response converts the SDK's message: text blocks are the content,
// tool_use blocks the tool calls; a refusal, and JSON cut at the token
// limit, are errors as with the OpenAI backend. Input tokens count the
// cached ones too (Anthropic reports them apart).
func (a *anthropicClient) response(req ChatRequest, msg *anthropic.Message) (*ChatResponse, error) {
	u := msg.Usage
	out := &ChatResponse{Usage: Usage{
		PromptTokens:     u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens,
		CachedTokens:     u.CacheReadInputTokens,
		CompletionTokens: u.OutputTokens,
	}}
	var text strings.Builder
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			args := string(b.Input)
			if args == "" {
				args = "{}"
			}
			out.ToolCalls = append(out.ToolCalls, ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		}
	}
	out.Content = text.String()
	me := func(code, message string, kind error) *ModelError {
		return &ModelError{Model: a.c.cfg.Name, Deployment: a.c.cfg.Model, Code: code, Message: message, Kind: kind}
	}
	switch msg.StopReason {
	case anthropic.StopReasonToolUse:
		out.FinishReason = "tool_calls"
	case anthropic.StopReasonMaxTokens:
		out.FinishReason = "length"
		if req.Output != nil || len(out.ToolCalls) > 0 {
			return out, me("length", "the completion was cut at its token limit, its JSON is incomplete", nil)
		}
	case "refusal":
		out.FinishReason = "content_filter"
		return out, me("refusal", "the model declined to answer (stop_reason refusal)", ErrContentFilter)
	default:
		out.FinishReason = "stop"
	}
	return out, nil
}

// mapError turns an SDK error into a *ModelError (or ctx's error), with
// the same kinds as the OpenAI backend: 429 rate_limit_error, 401/403
// authentication_error and permission_error, a prompt over the context
// window ("prompt is too long").
func (a *anthropicClient) mapError(ctx context.Context, err error) error {
	c := a.c
	if ctx.Err() != nil {
		return fmt.Errorf("model %s (%s): %w", c.cfg.Name, c.cfg.Model, context.Cause(ctx))
	}
	me := &ModelError{Model: c.cfg.Name, Deployment: c.cfg.Model}
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		me.Err = err
		return me
	}
	me.Status, me.Code, me.Message = apiErr.StatusCode, string(apiErr.Type()), apiErr.Message
	switch {
	case strings.Contains(apiErr.Message, "prompt is too long"):
		me.Kind = ErrContextLength
	case apiErr.StatusCode == http.StatusTooManyRequests:
		me.Kind = ErrRateLimited
	case apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden:
		me.Kind = ErrAuth
	}
	return me
}
