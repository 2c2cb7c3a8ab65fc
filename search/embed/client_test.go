package embed

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/openai/openai-go/v3"

	"github.com/weft-dev/weft/search/embed/embedtest"
)

func TestClientBatchesInOrder(t *testing.T) {
	srv := embedtest.NewServer(16)
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL + "/v1", Model: "m", APIKey: "k", BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"read a file", "write a file", "send mail", "list issues", "weather"}
	vecs, err := c.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
	}
	for i, txt := range texts {
		if !slices.Equal(vecs[i], embedtest.Vector(txt, 16)) {
			t.Errorf("vector %d is not the one of %q", i, txt)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 batches", len(reqs))
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer k" || reqs[0].Path != "/v1/embeddings" || reqs[0].Model != "m" {
		t.Errorf("request 0: auth %q path %q model %q", got, reqs[0].Path, reqs[0].Model)
	}
	if got := [][]string{reqs[0].Input, reqs[1].Input, reqs[2].Input}; !slices.EqualFunc(got, [][]string{texts[0:2], texts[2:4], texts[4:]}, slices.Equal) {
		t.Errorf("batches %q", got)
	}
	if c.Dimensions() != 16 {
		t.Errorf("Dimensions() = %d after first call, want 16", c.Dimensions())
	}
	if v, err := c.Embed(context.Background(), nil); err != nil || len(v) != 0 || len(srv.Requests()) != 3 {
		t.Errorf("no texts: %v %v, %d requests", v, err, len(srv.Requests()))
	}
}

func TestClientLocalServerWithoutKey(t *testing.T) {
	srv := embedtest.NewServer(8)
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL + "/", Model: "nomic-embed-text"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Header.Get("Authorization") != "" || r.Header.Get("Api-Key") != "" || r.Path != "/embeddings" {
		t.Errorf("local server: path %q headers %v", r.Path, r.Header)
	}
}

// fakeCredential is an azcore.TokenCredential, as azidentity's are.
type fakeCredential struct {
	calls  atomic.Int32
	scopes []string
}

func (f *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.calls.Add(1)
	f.scopes = o.Scopes
	return azcore.AccessToken{Token: "entra-tok", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestClientAzure(t *testing.T) {
	srv := embedtest.NewTLSServer(8)
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, AzureDeployment: "emb-3", APIKey: "secret", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Path != "/openai/deployments/emb-3/embeddings" || r.Query != "api-version=2024-10-21" {
		t.Errorf("azure URL: %s?%s", r.Path, r.Query)
	}
	// The SDK's Azure routing reads the deployment from the body's model
	// field, so the body carries it (the hand-written client sent none).
	if r.Header.Get("api-key") != "secret" || r.Header.Get("Authorization") != "" || r.Model != "emb-3" {
		t.Errorf("azure headers: api-key %q authorization %q model %q", r.Header.Get("api-key"), r.Header.Get("Authorization"), r.Model)
	}
	if c.Model() != "emb-3" {
		t.Errorf("Model() = %q, want the deployment", c.Model())
	}

	// Entra ID through an azcore.TokenCredential: a cached bearer token for
	// the Cognitive Services scope.
	cred := &fakeCredential{}
	c, err = New(Config{BaseURL: srv.URL, AzureDeployment: "emb-3", APIVersion: "2025-01-01", Model: "text-embedding-3-small",
		Credential: cred, APIKey: "ignored", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Embed(context.Background(), []string{"x"}); err != nil {
			t.Fatal(err)
		}
	}
	r = srv.Requests()[2]
	if r.Header.Get("Authorization") != "Bearer entra-tok" || r.Header.Get("api-key") != "" || r.Query != "api-version=2025-01-01" {
		t.Errorf("entra: headers %v query %q", r.Header, r.Query)
	}
	if cred.calls.Load() != 1 || !slices.Equal(cred.scopes, []string{"https://cognitiveservices.azure.com/.default"}) {
		t.Errorf("credential asked %d times for %v, want once for the cognitive services scope", cred.calls.Load(), cred.scopes)
	}
	if c.Model() != "text-embedding-3-small" {
		t.Errorf("Model() = %q", c.Model())
	}

	// Entra ID through a token function.
	c, _ = New(Config{BaseURL: srv.URL, AzureDeployment: "emb-3", Token: func(context.Context) (string, error) { return "tok", nil }, HTTPClient: srv.Client()})
	if _, err := c.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	r = srv.Requests()[3]
	if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("api-key") != "" {
		t.Errorf("entra headers: %v", r.Header)
	}
}

func TestClientToken(t *testing.T) {
	srv := embedtest.NewServer(8)
	defer srv.Close()
	n := 0
	c, _ := New(Config{BaseURL: srv.URL, Model: "m", APIKey: "k", Token: func(context.Context) (string, error) {
		n++
		return "tok" + string(rune('0'+n)), nil
	}})
	for range 2 {
		if _, err := c.Embed(context.Background(), []string{"x"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Requests()[1].Header.Get("Authorization"); got != "Bearer tok2" {
		t.Errorf("token per request: Authorization %q, want Bearer tok2", got)
	}
}

func TestClientRetries(t *testing.T) {
	srv := embedtest.NewServer(8)
	defer srv.Close()
	srv.Fail = []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}
	srv.RetryAfter = "0.01"
	c, _ := New(Config{BaseURL: srv.URL, Model: "m"})
	start := time.Now()
	if _, err := c.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 (two retried failures)", n)
	}
	if el := time.Since(start); el < 20*time.Millisecond {
		t.Errorf("retries took %v; Retry-After of 10ms twice was not honoured", el)
	}

	// A 400 is final, and its message is kept.
	srv.Fail = []int{http.StatusBadRequest}
	_, err := c.Embed(context.Background(), []string{"x"})
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 || err.Error() != "embed: endpoint answered 400: try later" {
		t.Errorf("400: got %v", err)
	}
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Errorf("400 does not unwrap to the SDK's error: %v", err)
	}
	if n := len(srv.Requests()); n != 4 {
		t.Errorf("400 was retried: %d requests, want 4", n)
	}

	// Retries give up after MaxRetries.
	srv.Fail, srv.RetryAfter = []int{500, 500, 500}, ""
	c, _ = New(Config{BaseURL: srv.URL, Model: "m", MaxRetries: 1, MaxBackoff: time.Millisecond})
	if _, err := c.Embed(context.Background(), []string{"x"}); !errors.As(err, &se) || se.StatusCode != 500 {
		t.Errorf("exhausted retries: got %v", err)
	}
	if n := len(srv.Requests()); n != 6 {
		t.Errorf("MaxRetries 1: %d requests, want 6 (4 + 2)", n)
	}
	// Negative MaxRetries disables retries.
	srv.Fail = []int{503}
	c, _ = New(Config{BaseURL: srv.URL, Model: "m", MaxRetries: -1})
	if _, err := c.Embed(context.Background(), []string{"x"}); !errors.As(err, &se) || se.StatusCode != 503 || len(srv.Requests()) != 7 {
		t.Errorf("no retries: got %v after %d requests", err, len(srv.Requests()))
	}

	// Cancellation stops the wait.
	srv.Fail = []int{429}
	srv.RetryAfter = "20"
	c, _ = New(Config{BaseURL: srv.URL, Model: "m"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := c.Embed(ctx, []string{"x"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled wait: got %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("cancelled wait returned after %v", el)
	}

	// A Retry-After beyond MaxBackoff is not waited for (the SDK's rule):
	// the server's answer comes back at once.
	srv.Fail = []int{429, 429}
	srv.RetryAfter = "60"
	start = time.Now()
	if _, err := c.Embed(context.Background(), []string{"x"}); !errors.As(err, &se) || se.StatusCode != 429 {
		t.Errorf("Retry-After beyond MaxBackoff: got %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Retry-After beyond MaxBackoff waited %v", el)
	}
}

func TestClientNonOpenAIErrorBodies(t *testing.T) {
	srv := embedtest.NewServer(8)
	defer srv.Close()
	c, _ := New(Config{BaseURL: srv.URL, Model: "m", APIKey: "sk-secret"})
	for _, body := range []string{
		`{"error":"Input validation error: inputs must have less than 512 tokens","error_type":"Validation"}`, // TEI
		`<html><body>413 Request Entity Too Large</body></html>`,                                              // a proxy
	} {
		srv.Fail, srv.FailBody = []int{413}, body
		_, err := c.Embed(context.Background(), []string{"x"})
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != 413 {
			t.Errorf("body %s: got %v, want a 413 StatusError", body, err)
		}
	}
	// A server that echoes the key does not get it into our errors.
	srv.Fail, srv.FailBody = []int{401}, `{"error":{"message":"Incorrect API key provided: sk-secret"}}`
	_, err := c.Embed(context.Background(), []string{"x"})
	if err == nil || strings.Contains(err.Error(), "sk-secret") || !strings.Contains(err.Error(), "401: Incorrect API key provided: ****") {
		t.Errorf("401: got %v", err)
	}
}

func TestClientDimensionCheck(t *testing.T) {
	srv := embedtest.NewServer(8)
	defer srv.Close()
	c, _ := New(Config{BaseURL: srv.URL, Model: "m", Dimensions: 12, SendDimensions: true})
	_, err := c.Embed(context.Background(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "8-dimensional embedding, want 12") {
		t.Errorf("got %v", err)
	}
	if srv.Requests()[0].Dims != 12 {
		t.Errorf("dimensions not sent")
	}
	// Without SendDimensions the check still applies, and nothing is sent.
	c, _ = New(Config{BaseURL: srv.URL, Model: "m", Dimensions: 12})
	if _, err := c.Embed(context.Background(), []string{"x"}); err == nil {
		t.Errorf("8-d vector accepted for 12 dimensions")
	}
	if srv.Requests()[1].Dims != 0 {
		t.Errorf("dimensions sent without SendDimensions")
	}
}

func TestClientTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := embedtest.NewServer(8)
	defer srv.Close()
	defer close(block)
	inner := srv.Config.Handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
		inner.ServeHTTP(w, r)
	})
	c, _ := New(Config{BaseURL: srv.URL, Model: "m", Timeout: 30 * time.Millisecond, MaxRetries: 1, MaxBackoff: time.Millisecond})
	start := time.Now()
	_, err := c.Embed(context.Background(), []string{"x"})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a per-attempt timeout", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("timed out after %v", el)
	}
}

func TestNewValidates(t *testing.T) {
	cred := &fakeCredential{}
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Model: "m"}, "embed: BaseURL is required (e.g. https://api.openai.com/v1)"},
		{Config{BaseURL: "not a url", Model: "m"}, `embed: BaseURL "not a url" is not an absolute http(s) URL`},
		{Config{BaseURL: "ftp://x", Model: "m"}, `embed: BaseURL "ftp://x" is not an absolute http(s) URL`},
		{Config{BaseURL: "http://x"}, "embed: Model (or AzureDeployment for Azure OpenAI) is required"},
		{Config{BaseURL: "http://x", Model: "m", Dimensions: -1}, "embed: Dimensions -1 is negative"},
		{Config{BaseURL: "http://x", Model: "m", Credential: cred}, "embed: Credential (Entra ID) is for Azure OpenAI: set AzureDeployment"},
		{Config{BaseURL: "https://x", AzureDeployment: "d"}, "embed: Azure OpenAI needs APIKey, Credential (Entra ID) or Token"},
		{Config{BaseURL: "http://x", AzureDeployment: "d", APIKey: "k"}, `embed: Azure OpenAI endpoint "http://x" must be https`},
	} {
		if _, err := New(tt.cfg); err == nil || err.Error() != tt.want {
			t.Errorf("New(%+v) = %v, want %s", tt.cfg, err, tt.want)
		}
	}
}

func TestClientTokenErrorIsFinal(t *testing.T) {
	srv := embedtest.NewServer(8)
	defer srv.Close()
	boom := errors.New("no token")
	c, _ := New(Config{BaseURL: srv.URL, Model: "m", Token: func(context.Context) (string, error) { return "", boom }})
	if _, err := c.Embed(context.Background(), []string{"x"}); !errors.Is(err, boom) || err.Error() != "embed: get token: no token" {
		t.Errorf("got %v", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests without a token", n)
	}
}
