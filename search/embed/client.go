// Package embed provides embedders for dense tool search: Client speaks the
// OpenAI-compatible /embeddings wire format (OpenAI, Azure OpenAI, Ollama,
// text-embeddings-inference, vLLM) through the official OpenAI Go SDK, and
// Cache keeps vectors by (model, text hash) in memory and in a directory so
// restarts do not re-embed.
package embed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"

	"github.com/weft-dev/weft/internal/azcred"
)

// DefaultAPIVersion is the Azure OpenAI api-version used when
// Config.APIVersion is empty.
const DefaultAPIVersion = "2024-10-21"

// Config configures a Client. BaseURL and Model (or, for Azure,
// AzureDeployment) are required.
type Config struct {
	// BaseURL is the API root: "https://api.openai.com/v1",
	// "http://localhost:11434/v1" (Ollama), "http://tei:8080" (TEI),
	// "http://vllm:8000/v1"; requests go to BaseURL + "/embeddings". For
	// Azure OpenAI it is the resource endpoint
	// ("https://NAME.openai.azure.com", HTTPS only) and requests go to
	// /openai/deployments/AzureDeployment/embeddings?api-version=APIVersion.
	BaseURL string
	// Model is the model name sent in requests (and part of cache keys).
	// For Azure it defaults to AzureDeployment; the deployment, not Model,
	// is what Azure receives.
	Model string
	// APIKey is sent as "Authorization: Bearer KEY", or as the "api-key"
	// header for Azure. Empty sends none (local servers).
	APIKey string
	// Credential authenticates to Azure OpenAI with Entra ID (for example
	// azidentity.NewDefaultAzureCredential: managed identity, workload
	// identity, Azure CLI, service principal from the environment). Tokens
	// for https://cognitiveservices.azure.com/.default are fetched and
	// cached by the Azure SDK. It takes precedence over Token and APIKey
	// and needs AzureDeployment.
	Credential azcore.TokenCredential
	// Token, when set, supplies a bearer token per request (tests, or a
	// token source of one's own): for Azure through the Azure SDK's
	// bearer-token policy, elsewhere as "Authorization: Bearer TOKEN"
	// (retries of a request reuse its token). It takes precedence over APIKey.
	Token func(ctx context.Context) (string, error)
	// AzureDeployment selects the Azure OpenAI URL form.
	AzureDeployment string
	// APIVersion is Azure's api-version (default DefaultAPIVersion).
	APIVersion string
	// Dimensions, when set, is requested from the model ("dimensions") and
	// checked on every returned vector; when 0 the first response fixes it.
	Dimensions int
	// SendDimensions sends Dimensions in requests (only models that can
	// shorten vectors accept it, e.g. text-embedding-3-*).
	SendDimensions bool
	// BatchSize is the number of texts per request (default 64).
	BatchSize int
	// MaxRetries is how often a request is retried on 408, 409, 429, 5xx
	// and transport errors (default 4; negative disables retries).
	MaxRetries int
	// Timeout bounds each attempt of a request (default 30s).
	Timeout time.Duration
	// MaxBackoff caps the wait between retries (default 30s). A server's
	// Retry-After longer than this is not waited for: the request fails
	// with the server's answer at once.
	MaxBackoff time.Duration
	// HTTPClient is the client to use (default http.DefaultClient).
	HTTPClient *http.Client
}

// Client is an OpenAI-compatible embedder. It is safe for concurrent use.
type Client struct {
	cfg   Config
	svc   openai.EmbeddingService
	model string // sent in the request body: Model, or the Azure deployment
	dims  dimension
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("embed: BaseURL is required (e.g. https://api.openai.com/v1)")
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("embed: BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	azureMode := cfg.AzureDeployment != ""
	if cfg.Model == "" && !azureMode {
		return nil, errors.New("embed: Model (or AzureDeployment for Azure OpenAI) is required")
	}
	if cfg.Dimensions < 0 {
		return nil, fmt.Errorf("embed: Dimensions %d is negative", cfg.Dimensions)
	}
	if cfg.Credential != nil && !azureMode {
		return nil, errors.New("embed: Credential (Entra ID) is for Azure OpenAI: set AzureDeployment")
	}
	if azureMode && cfg.Credential == nil && cfg.Token == nil && cfg.APIKey == "" {
		return nil, errors.New("embed: Azure OpenAI needs APIKey, Credential (Entra ID) or Token")
	}
	if azureMode && base.Scheme != "https" {
		// The SDK refuses to send Azure credentials over plain HTTP.
		return nil, fmt.Errorf("embed: Azure OpenAI endpoint %q must be https", cfg.BaseURL)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 64
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = 4
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	c := &Client{cfg: cfg, model: cfg.Model}
	c.dims.set(cfg.Dimensions)

	opts := []option.RequestOption{
		option.WithHTTPClient(cfg.HTTPClient),
		option.WithMaxRetries(cfg.MaxRetries),
		option.WithMaxRetryDelay(cfg.MaxBackoff),
		option.WithRequestTimeout(cfg.Timeout),
	}
	if azureMode {
		if c.cfg.APIVersion == "" {
			c.cfg.APIVersion = DefaultAPIVersion
		}
		if c.cfg.Model == "" {
			c.cfg.Model = cfg.AzureDeployment
		}
		// The SDK's Azure middleware routes by the body's "model" field:
		// /openai/deployments/{model}/embeddings.
		c.model = cfg.AzureDeployment
		opts = append(opts, azure.WithEndpoint(base.String(), c.cfg.APIVersion))
		switch {
		case cfg.Credential != nil:
			opts = append(opts, azure.WithTokenCredential(azcred.Cached(cfg.Credential)))
		case cfg.Token != nil:
			opts = append(opts, azure.WithTokenCredential(funcCredential(cfg.Token)))
		default:
			opts = append(opts, azure.WithAPIKey(cfg.APIKey))
		}
	} else {
		opts = append(opts, option.WithBaseURL(base.String()))
		if cfg.Token == nil && cfg.APIKey != "" {
			opts = append(opts, option.WithAPIKey(cfg.APIKey))
		}
	}
	// NewEmbeddingService, unlike openai.NewClient, reads no OPENAI_*
	// environment variables: everything comes from cfg.
	c.svc = openai.NewEmbeddingService(opts...)
	return c, nil
}

// funcCredential adapts a token function to azcore.TokenCredential. The
// token's lifetime is unknown, so it is reported as expiring within the
// Azure SDK's refresh window: the function is asked for every request.
type funcCredential func(ctx context.Context) (string, error)

// GetToken implements azcore.TokenCredential.
func (f funcCredential) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := f(ctx)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return azcore.AccessToken{Token: tok, ExpiresOn: time.Now().Add(time.Minute)}, nil
}

// Model implements search.Embedder.
func (c *Client) Model() string { return c.cfg.Model }

// Dimensions implements search.Embedder (0 until known).
func (c *Client) Dimensions() int { return c.dims.get() }

// Embed implements search.Embedder: texts are sent in batches of
// Config.BatchSize; vectors come back in input order.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += c.cfg.BatchSize {
		batch := texts[start:min(start+c.cfg.BatchSize, len(texts))]
		vecs, err := c.embedBatch(ctx, batch)
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

// StatusError is a non-2xx answer of the embeddings endpoint (after the
// SDK's retries). It unwraps to the SDK's *openai.Error when the answer
// carried an OpenAI-style error object.
type StatusError struct {
	StatusCode int
	// Body is the server's error message, shortened, with the API key
	// masked should the server echo it.
	Body string
	err  error
}

// Error implements error.
func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("embed: endpoint answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("embed: endpoint answered %d: %s", e.StatusCode, e.Body)
}

// Unwrap returns the SDK's error.
func (e *StatusError) Unwrap() error { return e.err }

func (c *Client) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	params := openai.EmbeddingNewParams{
		Model: c.model,
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts},
		// Float, not the SDK's base64 option: Ollama, TEI and vLLM all
		// answer floats, not all of them base64.
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat,
	}
	if c.cfg.SendDimensions && c.cfg.Dimensions > 0 {
		params.Dimensions = openai.Int(int64(c.cfg.Dimensions))
	}
	var raw *http.Response
	reqOpts := []option.RequestOption{option.WithResponseInto(&raw)}
	if c.cfg.Token != nil && c.cfg.AzureDeployment == "" {
		// One token per request, reused by its retries; failing to get
		// one is final (the Azure path gets tokens through the SDK).
		tok, err := c.cfg.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("embed: get token: %w", err)
		}
		reqOpts = append(reqOpts, option.WithHeader("Authorization", "Bearer "+tok))
	}
	resp, err := c.svc.New(ctx, params, reqOpts...)
	if err != nil {
		return nil, c.wrap(ctx, err, raw)
	}
	n := len(texts)
	if len(resp.Data) != n {
		return nil, fmt.Errorf("embed: got %d embeddings for %d inputs", len(resp.Data), n)
	}
	data := slices.Clone(resp.Data)
	slices.SortFunc(data, func(a, b openai.Embedding) int { return int(a.Index - b.Index) })
	vecs := make([][]float32, n)
	for i, d := range data {
		if d.Index != int64(i) {
			return nil, fmt.Errorf("embed: response indexes are not 0..%d", n-1)
		}
		if err := c.dims.check(len(d.Embedding)); err != nil {
			return nil, err
		}
		v := make([]float32, len(d.Embedding))
		for j, x := range d.Embedding {
			v[j] = float32(x)
		}
		vecs[i] = v
	}
	return vecs, nil
}

// wrap turns an SDK error into the package's: *StatusError for an HTTP
// answer (whatever its body: TEI answers {"error": "text"}, proxies HTML,
// which the SDK cannot read as an OpenAI error object), the context's error
// on cancellation.
func (c *Client) wrap(ctx context.Context, err error, raw *http.Response) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("embed: %w", err)
	}
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		return &StatusError{StatusCode: apiErr.StatusCode, Body: c.scrub(apiErr.Message), err: err}
	}
	if raw != nil && raw.StatusCode >= 400 {
		return &StatusError{StatusCode: raw.StatusCode, err: err}
	}
	return fmt.Errorf("embed: %w", err)
}

// scrub shortens a server message and masks the API key in it.
func (c *Client) scrub(s string) string {
	if c.cfg.APIKey != "" {
		s = strings.ReplaceAll(s, c.cfg.APIKey, "****")
	}
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
