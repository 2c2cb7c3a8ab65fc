package agent

import (
	"context"

	"github.com/weft-dev/weft/internal/tracing"
)

// genAIProvider is gen_ai.provider.name of a weft provider.
func genAIProvider(provider string) string {
	switch provider {
	case ProviderAzureOpenAI:
		return "azure.ai.openai"
	case ProviderAnthropic:
		return "anthropic"
	}
	return "openai"
}

// startSpan starts the client span of one model call; the returned func
// records the response's token usage (a failed call's too, when the
// provider reported it) and ends the span.
func (c *Client) startSpan(ctx context.Context) (context.Context, func(*ChatResponse, error)) {
	ctx, span := c.cfg.Tracer.StartChat(ctx, genAIProvider(c.cfg.Provider), c.cfg.Model)
	return ctx, func(resp *ChatResponse, err error) {
		var u tracing.Usage
		if resp != nil {
			u = tracing.Usage{Input: resp.Usage.PromptTokens, Output: resp.Usage.CompletionTokens, CacheRead: resp.Usage.CachedTokens}
		}
		tracing.EndChat(span, "", u, err)
	}
}

// ErrorCode is the error's kind for tracing's error.type: the provider's
// code, else the HTTP status.
func (e *ModelError) ErrorCode() string {
	switch {
	case e.Code != "":
		return e.Code
	case e.Kind == ErrRateLimited:
		return "rate_limited"
	case e.Kind == ErrAuth:
		return "auth"
	}
	return ""
}
