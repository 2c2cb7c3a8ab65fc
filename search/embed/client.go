// Package embed provides embedders for dense tool search: Client speaks the
// OpenAI-compatible /embeddings wire format (OpenAI, Azure OpenAI, Ollama,
// text-embeddings-inference, vLLM), and Cache keeps vectors by (model, text
// hash) in memory and in a directory so restarts do not re-embed.
package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config configures a Client. BaseURL and Model (or, for Azure,
// AzureDeployment) are required.
type Config struct {
	// BaseURL is the API root: "https://api.openai.com/v1",
	// "http://localhost:11434/v1" (Ollama), "http://tei:8080" (TEI),
	// "http://vllm:8000/v1"; requests go to BaseURL + "/embeddings". For
	// Azure OpenAI it is the resource endpoint
	// ("https://NAME.openai.azure.com") and requests go to
	// /openai/deployments/AzureDeployment/embeddings?api-version=APIVersion.
	BaseURL string
	// Model is the model name sent in requests (and part of cache keys).
	Model string
	// APIKey is sent as "Authorization: Bearer KEY", or as the "api-key"
	// header for Azure. Empty sends none (local servers).
	APIKey string
	// Token, when set, supplies a bearer token per request (Azure Entra ID:
	// the facade passes a token source from the Azure identity SDK). It
	// takes precedence over APIKey.
	Token func(ctx context.Context) (string, error)
	// AzureDeployment selects the Azure OpenAI URL form.
	AzureDeployment string
	// APIVersion is Azure's api-version (default "2024-10-21").
	APIVersion string
	// Dimensions, when set, is requested from the model ("dimensions") and
	// checked on every returned vector; when 0 the first response fixes it.
	Dimensions int
	// SendDimensions sends Dimensions in requests (only models that can
	// shorten vectors accept it, e.g. text-embedding-3-*).
	SendDimensions bool
	// BatchSize is the number of texts per request (default 64).
	BatchSize int
	// MaxRetries is how often a request is retried on 429, 5xx and
	// transport errors (default 4; negative disables retries).
	MaxRetries int
	// Timeout bounds each request (default 30s).
	Timeout time.Duration
	// MaxBackoff caps the wait between retries, including Retry-After (default 30s).
	MaxBackoff time.Duration
	// HTTPClient is the client to use (default http.DefaultClient).
	HTTPClient *http.Client
}

// Client is an OpenAI-compatible embedder. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint string
	dims     dimension
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("embed: BaseURL is required (e.g. https://api.openai.com/v1)")
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("embed: BaseURL %q is not an absolute URL", cfg.BaseURL)
	}
	if cfg.Model == "" && cfg.AzureDeployment == "" {
		return nil, errors.New("embed: Model (or AzureDeployment for Azure OpenAI) is required")
	}
	if cfg.Dimensions < 0 {
		return nil, fmt.Errorf("embed: Dimensions %d is negative", cfg.Dimensions)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 64
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 4
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
	c := &Client{cfg: cfg}
	c.dims.set(cfg.Dimensions)
	if cfg.AzureDeployment != "" {
		if cfg.APIVersion == "" {
			cfg.APIVersion = "2024-10-21"
			c.cfg.APIVersion = cfg.APIVersion
		}
		if cfg.Model == "" {
			c.cfg.Model = cfg.AzureDeployment
		}
		c.endpoint = base.String() + "/openai/deployments/" + url.PathEscape(cfg.AzureDeployment) +
			"/embeddings?api-version=" + url.QueryEscape(cfg.APIVersion)
	} else {
		c.endpoint = base.String() + "/embeddings"
	}
	return c, nil
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

type request struct {
	Model          string   `json:"model,omitempty"`
	Input          []string `json:"input"`
	Dimensions     int      `json:"dimensions,omitempty"`
	EncodingFormat string   `json:"encoding_format"`
}

type response struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

// StatusError is a non-2xx answer of the embeddings endpoint.
type StatusError struct {
	StatusCode int
	Body       string
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("embed: endpoint answered %d: %s", e.StatusCode, e.Body)
}

func (c *Client) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	req := request{Model: c.cfg.Model, Input: texts, EncodingFormat: "float"}
	if c.cfg.AzureDeployment != "" {
		req.Model = "" // the deployment names the model
	}
	if c.cfg.SendDimensions {
		req.Dimensions = c.cfg.Dimensions
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("embed: encode request: %w", err)
	}
	for attempt := 0; ; attempt++ {
		vecs, retryAfter, err := c.post(ctx, body, len(texts))
		if err == nil {
			return vecs, nil
		}
		if retryAfter < 0 || attempt >= c.cfg.MaxRetries {
			return nil, err
		}
		wait := retryAfter
		if wait == 0 {
			// Exponential backoff with full jitter: 250ms, 500ms, 1s, ...
			wait = time.Duration(rand.Int64N(int64(250*time.Millisecond) << attempt))
		}
		wait = min(wait, c.cfg.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("embed: %w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// post sends one request. retryAfter < 0 means the error is final; 0 means
// retry with backoff; > 0 is the server's Retry-After.
func (c *Client) post(ctx context.Context, body []byte, n int) (vecs [][]float32, retryAfter time.Duration, err error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(rctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, -1, fmt.Errorf("embed: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	switch {
	case c.cfg.Token != nil:
		tok, err := c.cfg.Token(ctx)
		if err != nil {
			return nil, -1, fmt.Errorf("embed: get token: %w", err)
		}
		hreq.Header.Set("Authorization", "Bearer "+tok)
	case c.cfg.APIKey != "" && c.cfg.AzureDeployment != "":
		hreq.Header.Set("api-key", c.cfg.APIKey)
	case c.cfg.APIKey != "":
		hreq.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, fmt.Errorf("embed: %w", ctx.Err())
		}
		return nil, 0, fmt.Errorf("embed: post %s: %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("embed: read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		serr := &StatusError{StatusCode: resp.StatusCode, Body: truncate(string(raw), 300)}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return nil, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), serr
		}
		return nil, -1, serr
	}
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, -1, fmt.Errorf("embed: decode response: %w", err)
	}
	if len(r.Data) != n {
		return nil, -1, fmt.Errorf("embed: got %d embeddings for %d inputs", len(r.Data), n)
	}
	slices.SortFunc(r.Data, func(a, b struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}) int {
		return a.Index - b.Index
	})
	vecs = make([][]float32, n)
	for i, d := range r.Data {
		if d.Index != i {
			return nil, -1, fmt.Errorf("embed: response indexes are not 0..%d", n-1)
		}
		if err := c.dims.check(len(d.Embedding)); err != nil {
			return nil, -1, err
		}
		vecs[i] = d.Embedding
	}
	return vecs, 0, nil
}

// parseRetryAfter reads a Retry-After header (seconds or an HTTP date);
// 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
