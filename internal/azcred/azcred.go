// Package azcred keeps Azure (Entra ID) access tokens of a credential until
// they are due for refresh, so that clients built on openai-go's azure
// package — the embedder (search/embed) and the models of weft ask (agent)
// — never ask the identity endpoint once per request.
package azcred

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Scope is the Entra ID scope of Azure OpenAI (Cognitive Services).
const Scope = "https://cognitiveservices.azure.com/.default"

// RefreshBefore is how long before expiry a token is replaced, as the
// Azure SDK's bearer-token policy does.
const RefreshBefore = 5 * time.Minute

// Cached returns cred behind a token cache: a token is reused until
// RefreshBefore its expiry (or its RefreshOn, when the identity endpoint
// set one), then fetched again, once, even by concurrent callers.
//
// Why it exists: openai-go's azure.WithTokenCredential builds a new Azure
// bearer-token policy for every request, so the policy's own token cache
// never serves a second request, and credentials without a cache of their
// own (AzureCLICredential runs `az` each time) would be asked once per
// request. Requests with claims (a CAE challenge) bypass the cache.
func Cached(cred azcore.TokenCredential) azcore.TokenCredential {
	return &cached{cred: cred}
}

type cached struct {
	cred azcore.TokenCredential

	mu     sync.Mutex
	scopes []string
	tok    azcore.AccessToken
}

// GetToken implements azcore.TokenCredential.
func (c *cached) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if o.Claims != "" {
		return c.cred.GetToken(ctx, o)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	fresh := c.tok.Token != "" && slices.Equal(c.scopes, o.Scopes) && now.Before(c.tok.ExpiresOn.Add(-RefreshBefore)) &&
		(c.tok.RefreshOn.IsZero() || now.Before(c.tok.RefreshOn))
	if fresh {
		return c.tok, nil
	}
	tok, err := c.cred.GetToken(ctx, o)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	c.tok, c.scopes = tok, slices.Clone(o.Scopes)
	return tok, nil
}
