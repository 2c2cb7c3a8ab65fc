package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/weft-dev/weft/internal/azcred"
	"github.com/weft-dev/weft/internal/tracing"
)

// Providers a Client speaks to.
const (
	ProviderAzureOpenAI      = "azure-openai"
	ProviderOpenAI           = "openai"
	ProviderOpenAICompatible = "openai-compatible"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// Name names the model in results and errors ("planner").
	Name string
	// Provider is azure-openai, openai, openai-compatible or anthropic.
	Provider string
	// Model is the model name; for azure-openai the deployment name.
	Model string
	// Endpoint is the Azure resource endpoint (https://NAME.openai.azure.com)
	// or the base URL of openai (default https://api.openai.com/v1) and
	// openai-compatible servers (http://localhost:11434/v1).
	Endpoint string
	// APIVersion is Azure's api-version (default 2024-10-21).
	APIVersion string
	// APIKey is sent as the api-key header (Azure) or as a bearer token.
	APIKey string
	// Credential authenticates to Azure OpenAI with Entra ID instead of
	// APIKey; its tokens (scope azcred.Scope) are cached until due for refresh.
	Credential azcore.TokenCredential
	// Timeout bounds each attempt (default 120s).
	Timeout time.Duration
	// MaxRetries is how often a call is retried on 408, 409, 429, 5xx and
	// connection errors (0: none; negative: the default 3). The SDK waits
	// for the server's Retry-After (or Retry-After-Ms), else backs off
	// exponentially.
	MaxRetries int
	// MaxRetryDelay caps one wait (default 30s); a Retry-After longer than
	// it is not waited for: the call fails with the server's answer.
	MaxRetryDelay time.Duration
	// HTTPClient is the client to use (default http.DefaultClient).
	HTTPClient *http.Client
	// Tracer, when set, traces each call as a GenAI client span ("chat
	// <model>": provider, model, token usage). Nil traces nothing.
	Tracer *tracing.Tracer
}

// Client is a chat model on the official OpenAI Go SDK (with its azure
// package for Azure OpenAI). It is safe for concurrent use.
type Client struct {
	cfg       ClientConfig
	chat      openai.ChatCompletionService
	anthropic *anthropicClient // provider anthropic (anthropic.go)
}

// NewClient checks cfg and returns a Client. It reads no environment
// variable: everything comes from cfg.
func NewClient(cfg ClientConfig) (*Client, error) {
	where := "agent: model " + cfg.Name
	if cfg.Model == "" {
		return nil, fmt.Errorf("%s: Model is required (for azure-openai, the deployment name)", where)
	}
	if cfg.Provider == ProviderOpenAI && cfg.Endpoint == "" {
		cfg.Endpoint = "https://api.openai.com/v1"
	}
	if cfg.Provider == ProviderAnthropic && cfg.Endpoint == "" {
		cfg.Endpoint = DefaultAnthropicEndpoint
	}
	u, err := url.Parse(strings.TrimRight(cfg.Endpoint, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: endpoint %q is not an absolute http(s) URL", where, cfg.Endpoint)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 120 * time.Second
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 3
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	opts := []option.RequestOption{
		option.WithHTTPClient(cfg.HTTPClient),
		option.WithMaxRetries(cfg.MaxRetries),
		option.WithMaxRetryDelay(cfg.MaxRetryDelay),
		option.WithRequestTimeout(cfg.Timeout),
	}
	switch cfg.Provider {
	case ProviderAzureOpenAI:
		if u.Scheme != "https" {
			return nil, fmt.Errorf("%s: Azure OpenAI endpoint %q must be https", where, cfg.Endpoint)
		}
		if cfg.APIVersion == "" {
			cfg.APIVersion = "2024-10-21"
		}
		// The azure middleware routes by the body's "model" field:
		// /openai/deployments/{model}/chat/completions?api-version=...
		opts = append(opts, azure.WithEndpoint(u.String(), cfg.APIVersion))
		switch {
		case cfg.Credential != nil:
			opts = append(opts, azure.WithTokenCredential(azcred.Cached(cfg.Credential)))
		case cfg.APIKey != "":
			opts = append(opts, azure.WithAPIKey(cfg.APIKey))
		default:
			return nil, fmt.Errorf("%s: Azure OpenAI needs APIKey or Credential (Entra ID)", where)
		}
	case ProviderOpenAI, ProviderOpenAICompatible:
		if cfg.Credential != nil {
			return nil, fmt.Errorf("%s: Credential (Entra ID) is for provider azure-openai", where)
		}
		if cfg.Provider == ProviderOpenAI && cfg.APIKey == "" {
			return nil, fmt.Errorf("%s: provider openai needs APIKey", where)
		}
		opts = append(opts, option.WithBaseURL(u.String()))
		if cfg.APIKey != "" {
			opts = append(opts, option.WithAPIKey(cfg.APIKey))
		}
	case ProviderAnthropic:
		c := &Client{cfg: cfg}
		a, err := newAnthropic(c, u.String())
		if err != nil {
			return nil, err
		}
		c.anthropic = a
		return c, nil
	default:
		return nil, fmt.Errorf("%s: provider %q is not one of azure-openai, openai, openai-compatible, anthropic", where, cfg.Provider)
	}
	// NewChatCompletionService, unlike openai.NewClient, reads no OPENAI_*
	// environment variable.
	return &Client{cfg: cfg, chat: openai.NewChatCompletionService(opts...)}, nil
}

// Name implements Model.
func (c *Client) Name() string { return c.cfg.Name }

// Chat implements Model.
func (c *Client) Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	return c.send(ctx, req, false, nil)
}

// ChatStream implements Streamer: the completion is streamed (server-sent
// events, with usage at the end) and onDelta receives each piece of its
// text as it arrives; the response is the same as Chat's.
func (c *Client) ChatStream(ctx context.Context, req ChatRequest, onDelta func(string)) (*ChatResponse, error) {
	return c.send(ctx, req, true, onDelta)
}

// send makes one model call with the provider's SDK, inside a span when
// tracing.
func (c *Client) send(ctx context.Context, req ChatRequest, stream bool, onDelta func(string)) (*ChatResponse, error) {
	if c.cfg.Tracer != nil {
		var end func(*ChatResponse, error)
		ctx, end = c.startSpan(ctx)
		resp, err := c.sendProvider(ctx, req, stream, onDelta)
		end(resp, err)
		return resp, err
	}
	return c.sendProvider(ctx, req, stream, onDelta)
}

func (c *Client) sendProvider(ctx context.Context, req ChatRequest, stream bool, onDelta func(string)) (*ChatResponse, error) {
	switch {
	case c.anthropic != nil && stream:
		return c.anthropic.stream(ctx, req, onDelta)
	case c.anthropic != nil:
		return c.anthropic.chat(ctx, req)
	case stream:
		return c.streamOpenAI(ctx, req, onDelta)
	}
	return c.chatOpenAI(ctx, req)
}

// chatOpenAI is one chat completion through the OpenAI SDK.
func (c *Client) chatOpenAI(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	params, err := c.params(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.chat.New(ctx, params)
	if err != nil {
		return nil, c.mapError(ctx, err)
	}
	return c.response(req, resp)
}

// streamOpenAI streams a chat completion through the OpenAI SDK (usage in
// the last chunk).
func (c *Client) streamOpenAI(ctx context.Context, req ChatRequest, onDelta func(string)) (*ChatResponse, error) {
	params, err := c.params(req)
	if err != nil {
		return nil, err
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := c.chat.NewStreaming(ctx, params)
	defer stream.Close()
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		chunk := stream.Current()
		acc.AddChunk(chunk)
		if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" && onDelta != nil {
			onDelta(chunk.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		return nil, c.mapError(ctx, err)
	}
	return c.response(req, &acc.ChatCompletion)
}

// params converts a request to the SDK's parameters.
func (c *Client) params(req ChatRequest) (openai.ChatCompletionNewParams, error) {
	params := openai.ChatCompletionNewParams{Model: shared.ChatModel(c.cfg.Model)}
	for _, m := range req.Messages {
		params.Messages = append(params.Messages, messageParam(m))
	}
	for _, t := range req.Tools {
		var ps shared.FunctionParameters
		if len(t.Parameters) > 0 {
			if err := json.Unmarshal(t.Parameters, &ps); err != nil {
				return params, fmt.Errorf("agent: tool %s: parameters are not a JSON object: %w", t.Name, err)
			}
		}
		params.Tools = append(params.Tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: t.Name, Description: openai.String(t.Description), Parameters: ps,
		}))
	}
	if len(req.Tools) > 0 {
		params.ParallelToolCalls = openai.Bool(true)
	}
	if req.Output != nil {
		var schema map[string]any
		if err := json.Unmarshal(req.Output.Schema, &schema); err != nil {
			return params, fmt.Errorf("agent: output schema %s is not a JSON object: %w", req.Output.Name, err)
		}
		params.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
				Name: req.Output.Name, Schema: schema, Strict: openai.Bool(req.Output.Strict),
			}},
		}
	}
	if req.MaxTokens > 0 {
		params.MaxCompletionTokens = openai.Int(int64(req.MaxTokens))
	}
	return params, nil
}

// response converts the SDK's completion, mapping content filtering,
// cut JSON and refusals to errors.
func (c *Client) response(req ChatRequest, resp *openai.ChatCompletion) (*ChatResponse, error) {
	out := &ChatResponse{Usage: Usage{
		PromptTokens:     resp.Usage.PromptTokens,
		CachedTokens:     resp.Usage.PromptTokensDetails.CachedTokens,
		CompletionTokens: resp.Usage.CompletionTokens,
	}}
	if len(resp.Choices) == 0 {
		return out, &ModelError{Model: c.cfg.Name, Deployment: c.cfg.Model, Message: "the response has no choices"}
	}
	ch := resp.Choices[0]
	out.FinishReason = ch.FinishReason
	out.Content = ch.Message.Content
	for _, tc := range ch.Message.ToolCalls {
		if tc.Type != "" && tc.Type != "function" {
			continue
		}
		out.ToolCalls = append(out.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	switch ch.FinishReason {
	case "content_filter":
		return out, &ModelError{Model: c.cfg.Name, Deployment: c.cfg.Model, Code: "content_filter", Kind: ErrContentFilter,
			Message: "the completion was filtered"}
	case "length":
		if req.Output != nil || len(out.ToolCalls) > 0 {
			return out, &ModelError{Model: c.cfg.Name, Deployment: c.cfg.Model, Code: "length",
				Message: "the completion was cut at its token limit, its JSON is incomplete"}
		}
	}
	if ch.Message.Refusal != "" && out.Content == "" {
		return out, &ModelError{Model: c.cfg.Name, Deployment: c.cfg.Model, Code: "refusal", Message: ch.Message.Refusal}
	}
	return out, nil
}

// mapError turns an SDK error into a *ModelError (or ctx's error).
func (c *Client) mapError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("model %s (%s): %w", c.cfg.Name, c.cfg.Model, context.Cause(ctx))
	}
	me := &ModelError{Model: c.cfg.Name, Deployment: c.cfg.Model}
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		me.Err = err
		return me
	}
	me.Status, me.Code, me.Message = apiErr.StatusCode, apiErr.Code, apiErr.Message
	switch {
	case apiErr.Code == "content_filter" || strings.Contains(apiErr.RawJSON(), "ResponsibleAIPolicyViolation"):
		me.Kind = ErrContentFilter
	case apiErr.Code == "context_length_exceeded" || apiErr.Code == "string_above_max_length":
		me.Kind = ErrContextLength
	case apiErr.StatusCode == http.StatusTooManyRequests:
		me.Kind = ErrRateLimited
	case apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden:
		me.Kind = ErrAuth
	}
	return me
}

// messageParam converts a Message to the SDK's form.
func messageParam(m Message) openai.ChatCompletionMessageParamUnion {
	switch m.Role {
	case RoleSystem:
		return openai.SystemMessage(m.Content)
	case RoleTool:
		return openai.ToolMessage(m.Content, m.ToolCallID)
	case RoleAssistant:
		a := openai.ChatCompletionAssistantMessageParam{}
		if m.Content != "" {
			a.Content.OfString = openai.String(m.Content)
		}
		for _, tc := range m.ToolCalls {
			a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID:       tc.ID,
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.Name, Arguments: tc.Arguments},
				},
			})
		}
		return openai.ChatCompletionMessageParamUnion{OfAssistant: &a}
	default:
		return openai.UserMessage(m.Content)
	}
}
