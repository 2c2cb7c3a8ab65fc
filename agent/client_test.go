package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/weft-dev/weft/internal/modeltest"
)

func azureClient(t *testing.T, srv *modeltest.Server, retries int) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{Name: "planner", Provider: ProviderAzureOpenAI, Model: "gpt-4o-prod",
		Endpoint: srv.URL, APIKey: "azure-secret-key", HTTPClient: srv.Client(), MaxRetries: retries})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAzureWireFormat(t *testing.T) {
	srv := modeltest.NewTLS()
	defer srv.Close()
	srv.Push(modeltest.Reply{Content: `{"steps":[]}`, Prompt: 1200, Cached: 1024, Completion: 30})
	c := azureClient(t, srv, 0)
	resp, err := c.Chat(context.Background(), ChatRequest{
		Messages: []Message{{Role: RoleSystem, Content: "sys"}, {Role: RoleUser, Content: "hi"}},
		Output:   &OutputSchema{Name: "weft_plan", Schema: json.RawMessage(planSchema), Strict: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content != `{"steps":[]}` || resp.Usage != (Usage{PromptTokens: 1200, CachedTokens: 1024, CompletionTokens: 30}) || resp.FinishReason != "stop" {
		t.Fatalf("resp = %+v", resp)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/openai/deployments/gpt-4o-prod/chat/completions" || r.Query["api-version"] != "2024-10-21" {
		t.Fatalf("request %s %s ?%v", r.Method, r.Path, r.Query)
	}
	if r.APIKey != "azure-secret-key" || r.Authorization != "" {
		t.Fatalf("api-key %q, Authorization %q", r.APIKey, r.Authorization)
	}
	rf, _ := r.Body["response_format"].(map[string]any)
	js, _ := rf["json_schema"].(map[string]any)
	if rf["type"] != "json_schema" || js["name"] != "weft_plan" || js["strict"] != true || js["schema"] == nil {
		t.Fatalf("response_format = %v", rf)
	}
	if ms := r.Messages(); len(ms) != 2 || ms[0]["role"] != "system" || ms[1]["content"] != "hi" {
		t.Fatalf("messages = %v", ms)
	}
}

func TestOpenAIBearerAndToolCalls(t *testing.T) {
	srv := modeltest.New()
	defer srv.Close()
	srv.Push(modeltest.Reply{ToolCalls: []modeltest.ToolCall{
		{ID: "c1", Name: "search_tools", Args: `{"query":"weather"}`},
		{ID: "c2", Name: "run_code", Args: `{"code":"return 1"}`},
	}, Prompt: 50, Completion: 20})
	c, err := NewClient(ClientConfig{Name: "planner", Provider: ProviderOpenAI, Model: "gpt-4.1", Endpoint: srv.URL + "/v1", APIKey: "sk-test"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Chat(context.Background(), ChatRequest{
		Messages: []Message{{Role: RoleUser, Content: "q"}, {Role: RoleAssistant, ToolCalls: []ToolCall{{ID: "c0", Name: "search_tools", Arguments: `{}`}}},
			{Role: RoleTool, ToolCallID: "c0", Content: `{"tools":[]}`}},
		Tools: metaTools,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.ToolCalls) != 2 || resp.ToolCalls[1] != (ToolCall{ID: "c2", Name: "run_code", Arguments: `{"code":"return 1"}`}) || resp.FinishReason != "tool_calls" {
		t.Fatalf("resp = %+v", resp)
	}
	r := srv.Requests()[0]
	if r.Path != "/v1/chat/completions" || r.Authorization != "Bearer sk-test" || r.APIKey != "" || r.Body["model"] != "gpt-4.1" {
		t.Fatalf("request %s auth %q api-key %q body %v", r.Path, r.Authorization, r.APIKey, r.Body["model"])
	}
	if tools, _ := r.Body["tools"].([]any); len(tools) != 5 || r.Body["parallel_tool_calls"] != true {
		t.Fatalf("tools = %v parallel = %v", r.Body["tools"], r.Body["parallel_tool_calls"])
	}
	ms := r.Messages()
	if tcs, _ := ms[1]["tool_calls"].([]any); len(tcs) != 1 || ms[2]["tool_call_id"] != "c0" || ms[2]["role"] != "tool" {
		t.Fatalf("messages = %v", ms)
	}
}

func TestRetryAfter429(t *testing.T) {
	srv := modeltest.NewTLS()
	defer srv.Close()
	srv.Push(modeltest.Reply{Status: 429, ErrorCode: "429", ErrorMessage: "Rate limit", RetryAfter: "1"},
		modeltest.Reply{Content: "ok", Prompt: 1, Completion: 1})
	c := azureClient(t, srv, 2)
	resp, err := c.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: RoleUser, Content: "x"}}})
	if err != nil || resp.Content != "ok" || len(srv.Requests()) != 2 {
		t.Fatalf("resp %+v err %v after %d requests", resp, err, len(srv.Requests()))
	}

	// A Retry-After beyond MaxRetryDelay is not waited for: the 429 is final.
	srv.Push(modeltest.Reply{Status: 429, ErrorCode: "429", ErrorMessage: "Rate limit", RetryAfter: "3600"})
	_, err = c.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: RoleUser, Content: "x"}}})
	if !errors.Is(err, ErrRateLimited) || len(srv.Requests()) != 3 {
		t.Fatalf("err = %v after %d requests", err, len(srv.Requests()))
	}
	var me *ModelError
	if !errors.As(err, &me) || me.Status != 429 || strings.Contains(err.Error(), "azure-secret-key") {
		t.Fatalf("err = %#v", err)
	}
}

func TestContentFilterAndContextLength(t *testing.T) {
	srv := modeltest.NewTLS()
	defer srv.Close()
	srv.Push(modeltest.Reply{Status: 400, ErrorCode: "content_filter",
		ErrorMessage: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
		InnerError:   map[string]any{"code": "ResponsibleAIPolicyViolation", "content_filter_result": map[string]any{"violence": map[string]any{"filtered": true, "severity": "high"}}}},
		modeltest.Reply{Status: 400, ErrorCode: "context_length_exceeded", ErrorMessage: "This model's maximum context length is 128000 tokens."},
		modeltest.Reply{Content: "", Finish: "content_filter"})
	c := azureClient(t, srv, 3)
	for _, want := range []error{ErrContentFilter, ErrContextLength, ErrContentFilter} {
		_, err := c.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: RoleUser, Content: "x"}}})
		if !errors.Is(err, want) {
			t.Fatalf("err = %v, want %v", err, want)
		}
		if strings.Contains(err.Error(), "azure-secret-key") || !strings.Contains(err.Error(), "model planner (gpt-4o-prod)") {
			t.Fatalf("err = %v", err)
		}
	}
	if n := len(srv.Requests()); n != 3 {
		t.Fatalf("%d requests: a 400 must not be retried", n)
	}
}

func TestCancellationReachesHTTPCall(t *testing.T) {
	srv := modeltest.New()
	arrived, never := make(chan struct{}), make(chan struct{})
	srv.Push(modeltest.Reply{Arrived: arrived, Wait: never})
	c, err := NewClient(ClientConfig{Name: "w", Provider: ProviderOpenAICompatible, Model: "llama3.2", Endpoint: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Chat(ctx, ChatRequest{Messages: []Message{{Role: RoleUser, Content: "x"}}})
		done <- err
	}()
	<-arrived
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	srv.Close() // waits for the handler, which saw its request end
	if srv.Canceled() != 1 {
		t.Fatalf("the server saw %d canceled requests, want 1", srv.Canceled())
	}
}

// TestEntraManagedIdentity: azidentity's managed identity credential (App
// Service flavour, selected by IDENTITY_ENDPOINT and IDENTITY_HEADER) gets
// one token from a local identity endpoint for many model calls.
func TestEntraManagedIdentity(t *testing.T) {
	var tokenRequests atomic.Int32
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenRequests.Add(1)
		q := r.URL.Query()
		if r.Header.Get("X-IDENTITY-HEADER") != "identity-secret" || q.Get("resource") != "https://cognitiveservices.azure.com" ||
			q.Get("client_id") != "mi-client-entra-test" || q.Get("api-version") != "2019-08-01" {
			http.Error(w, "bad identity request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "entra-token-1", "token_type": "Bearer",
			"expires_on": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10), "resource": q.Get("resource"), "client_id": q.Get("client_id")})
	}))
	defer idp.Close()
	t.Setenv("IDENTITY_ENDPOINT", idp.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", "identity-secret")
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID("mi-client-entra-test")})
	if err != nil {
		t.Fatal(err)
	}
	srv := modeltest.NewTLS()
	defer srv.Close()
	c, err := NewClient(ClientConfig{Name: "planner", Provider: ProviderAzureOpenAI, Model: "gpt-4o", Endpoint: srv.URL,
		Credential: cred, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		srv.Push(modeltest.Reply{Content: "ok"})
		if _, err := c.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: RoleUser, Content: "x"}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range srv.Requests() {
		if r.Authorization != "Bearer entra-token-1" || r.APIKey != "" {
			t.Fatalf("Authorization %q api-key %q", r.Authorization, r.APIKey)
		}
	}
	if n := tokenRequests.Load(); n != 1 {
		t.Fatalf("%d token requests for 3 model calls, want 1", n)
	}
}

// TestEntraTokenRefreshDuringLongRun: a token inside the refresh window
// (it expires in 4 minutes) is replaced before the next model call, so a
// long run never sends an expired token; the model sees the new one.
func TestEntraTokenRefreshDuringLongRun(t *testing.T) {
	var issued atomic.Int32
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "short-token-" + strconv.Itoa(int(n)), "token_type": "Bearer",
			"expires_on": strconv.FormatInt(time.Now().Add(4*time.Minute).Unix(), 10), "resource": r.URL.Query().Get("resource")})
	}))
	defer idp.Close()
	t.Setenv("IDENTITY_ENDPOINT", idp.URL)
	t.Setenv("IDENTITY_HEADER", "h")
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID("mi-client-refresh-test")})
	if err != nil {
		t.Fatal(err)
	}
	srv := modeltest.NewTLS()
	defer srv.Close()
	c, err := NewClient(ClientConfig{Name: "planner", Provider: ProviderAzureOpenAI, Model: "gpt-4o", Endpoint: srv.URL,
		Credential: cred, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		srv.Push(modeltest.Reply{Content: "ok"})
		if _, err := c.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: RoleUser, Content: "x"}}}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := srv.Requests()
	if reqs[0].Authorization != "Bearer short-token-1" || reqs[1].Authorization != "Bearer short-token-2" || issued.Load() != 2 {
		t.Fatalf("bearer tokens %q, %q after %d token requests", reqs[0].Authorization, reqs[1].Authorization, issued.Load())
	}
}

// TestStreamingWireFormat: a streamed completion (server-sent chunks, usage
// in the last one as asked by stream_options.include_usage) is delivered
// piece by piece and then as the same response Chat gives.
func TestStreamingWireFormat(t *testing.T) {
	srv := modeltest.NewTLS()
	defer srv.Close()
	srv.Push(modeltest.Reply{Content: "Paris is 16 degrees warmer.", Prompt: 700, Cached: 512, Completion: 9})
	c := azureClient(t, srv, 0)
	var deltas []string
	resp, err := c.ChatStream(context.Background(), ChatRequest{Messages: []Message{{Role: RoleUser, Content: "x"}}},
		func(d string) { deltas = append(deltas, d) })
	if err != nil {
		t.Fatal(err)
	}
	if len(deltas) != 4 || strings.Join(deltas, "") != "Paris is 16 degrees warmer." || resp.Content != "Paris is 16 degrees warmer." ||
		resp.Usage != (Usage{PromptTokens: 700, CachedTokens: 512, CompletionTokens: 9}) || resp.FinishReason != "stop" {
		t.Fatalf("deltas %q, resp %+v", deltas, resp)
	}
	r := srv.Requests()[0]
	so, _ := r.Body["stream_options"].(map[string]any)
	if r.Body["stream"] != true || so["include_usage"] != true || r.Path != "/openai/deployments/gpt-4o-prod/chat/completions" || r.APIKey != "azure-secret-key" {
		t.Fatalf("request %s %v api-key %q", r.Path, r.Body, r.APIKey)
	}
}
