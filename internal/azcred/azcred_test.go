package azcred

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// countingCred hands out numbered tokens living for life.
type countingCred struct {
	n    int
	life time.Duration
}

func (c *countingCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.n++
	return azcore.AccessToken{Token: "t" + strconv.Itoa(c.n), ExpiresOn: time.Now().Add(c.life)}, nil
}

func TestCachedReusesUntilDueForRefresh(t *testing.T) {
	opts := policy.TokenRequestOptions{Scopes: []string{Scope}}
	long := &countingCred{life: time.Hour}
	c := Cached(long)
	for range 5 {
		if tok, err := c.GetToken(context.Background(), opts); err != nil || tok.Token != "t1" {
			t.Fatalf("token %q err %v", tok.Token, err)
		}
	}
	if long.n != 1 {
		t.Fatalf("%d token requests for a 1h token, want 1", long.n)
	}
	// A token inside the refresh window (expiring within RefreshBefore) is
	// replaced on the next request: a long run never sends an expired token.
	short := &countingCred{life: RefreshBefore - time.Minute}
	c = Cached(short)
	for i := 1; i <= 3; i++ {
		tok, _ := c.GetToken(context.Background(), opts)
		if tok.Token != "t"+strconv.Itoa(i) {
			t.Fatalf("request %d got %q", i, tok.Token)
		}
	}
	// Another scope is another token; claims bypass the cache.
	if tok, _ := Cached(long).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"other"}}); tok.Token != "t2" {
		t.Fatalf("got %q", tok.Token)
	}
	if tok, _ := c.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{Scope}, Claims: "x"}); tok.Token != "t4" {
		t.Fatalf("claims: got %q", tok.Token)
	}
}
