package embed

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// cachedCredential keeps the last token of a credential until it is due
// for refresh.
//
// Why it exists: openai-go's azure.WithTokenCredential builds a new Azure
// bearer-token policy for every request, so the policy's own token cache
// never serves a second request, and credentials without a cache of their
// own (AzureCLICredential runs `az` each time) would be asked once per
// embeddings request. Requests with claims (a CAE challenge) bypass it.
type cachedCredential struct {
	cred azcore.TokenCredential

	mu     sync.Mutex
	scopes []string
	tok    azcore.AccessToken
}

// refreshBefore is how long before expiry a token is replaced, as the
// Azure SDK's bearer-token policy does.
const refreshBefore = 5 * time.Minute

// GetToken implements azcore.TokenCredential.
func (c *cachedCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if o.Claims != "" {
		return c.cred.GetToken(ctx, o)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	fresh := c.tok.Token != "" && slices.Equal(c.scopes, o.Scopes) && now.Before(c.tok.ExpiresOn.Add(-refreshBefore)) &&
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
