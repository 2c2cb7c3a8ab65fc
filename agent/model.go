// Package agent is weft's model side: clients for chat models (Azure
// OpenAI, OpenAI, any OpenAI-compatible server) on the official SDKs, and
// the two strategies that turn a request in natural language into an
// answer — "plan" (search picks tools, the model writes a plan, the plan
// is checked, repaired, run, and the answer is synthesised from its step
// results) and "agent" (a tool-calling loop over weft's five meta-tools).
//
// The package never reaches the catalog or the engine itself: the facade
// hands it a Tools implementation bound to the caller's context, so the
// caller's policy decides what the model may see and call.
package agent

import (
	"context"
	"encoding/json"
)

// Model is a chat model. *Client implements it; tests and other providers
// may supply their own.
type Model interface {
	// Chat sends one chat-completion request and returns the model's turn.
	// It honours ctx's cancellation down to the HTTP call.
	Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error)
	// Name names the model in results and errors ("planner").
	Name() string
}

// Streamer is a Model that can stream a completion's text as it is
// written. *Client implements it.
type Streamer interface {
	ChatStream(ctx context.Context, req ChatRequest, onDelta func(string)) (*ChatResponse, error)
}

// Roles of a Message.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is one message of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content,omitempty"`
	// ToolCalls are the calls an assistant message asked for.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID answers one of those calls (RoleTool).
	ToolCallID string `json:"tool_call_id,omitempty"`
}

// ToolCall is one function call the model asked for.
type ToolCall struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Arguments is the JSON text the model wrote (not necessarily valid).
	Arguments string `json:"arguments"`
}

// ToolDef is a function the model may call.
type ToolDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// OutputSchema asks for structured output: the answer is JSON for Schema.
type OutputSchema struct {
	Name   string
	Schema json.RawMessage
	// Strict asks the provider to guarantee the schema (strict mode: every
	// property required, no additional properties, no free-form objects).
	Strict bool
}

// ChatRequest is one model call.
type ChatRequest struct {
	// Messages in order: stable ones (system prompt, tool block) first and
	// the request last, so that provider prompt caching hits.
	Messages []Message
	// Tools the model may call (none: it answers in text or JSON).
	Tools []ToolDef
	// Output, when set, asks for structured output.
	Output *OutputSchema
	// MaxTokens bounds the completion (0: the model's default).
	MaxTokens int
}

// ChatResponse is the model's turn.
type ChatResponse struct {
	// Content is the text (or JSON, with ChatRequest.Output) the model wrote.
	Content string
	// ToolCalls are the calls it asked for, to be answered in order.
	ToolCalls []ToolCall
	// FinishReason is stop, tool_calls, length or content_filter.
	FinishReason string
	// Usage is what the call cost.
	Usage Usage
}

// Usage counts tokens.
type Usage struct {
	// PromptTokens are the input tokens, CachedTokens included.
	PromptTokens int64 `json:"prompt_tokens"`
	// CachedTokens are the input tokens served from the provider's prompt cache.
	CachedTokens int64 `json:"cached_tokens"`
	// CompletionTokens are the output tokens.
	CompletionTokens int64 `json:"completion_tokens"`
}

// Total is prompt plus completion tokens.
func (u Usage) Total() int64 { return u.PromptTokens + u.CompletionTokens }

// Add returns u + v.
func (u Usage) Add(v Usage) Usage {
	return Usage{PromptTokens: u.PromptTokens + v.PromptTokens, CachedTokens: u.CachedTokens + v.CachedTokens,
		CompletionTokens: u.CompletionTokens + v.CompletionTokens}
}
