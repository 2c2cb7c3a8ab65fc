package weft

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/azcred"
)

// TestEntraFromConfig: models.X.use_entra_id with
// managed_identity_client_id selects the user-assigned managed identity,
// which asks the local identity endpoint (App Service flavour:
// IDENTITY_ENDPOINT, IDENTITY_HEADER) for Azure OpenAI's resource.
func TestEntraFromConfig(t *testing.T) {
	var clientID, resource string
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clientID, resource = r.URL.Query().Get("client_id"), r.URL.Query().Get("resource")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok", "token_type": "Bearer",
			"expires_on": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10), "resource": resource})
	}))
	defer idp.Close()
	t.Setenv("IDENTITY_ENDPOINT", idp.URL)
	t.Setenv("IDENTITY_HEADER", "h")
	mc := &config.Model{Name: "planner", Provider: config.ProviderAzureOpenAI, Model: "gpt-4o", Endpoint: "https://acme.openai.azure.com",
		APIVersion: config.DefaultModelAPIVersion, UseEntraID: true, ManagedIdentityClientID: "mi-weft-config-test"}
	if _, err := newModelClient(mc, nil); err != nil {
		t.Fatal(err)
	}
	cred, err := entraCredential(mc.ManagedIdentityClientID)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{azcred.Scope}})
	if err != nil || tok.Token != "tok" || clientID != "mi-weft-config-test" || resource != "https://cognitiveservices.azure.com" {
		t.Fatalf("token %q err %v; identity endpoint saw client_id %q resource %q", tok.Token, err, clientID, resource)
	}
}
