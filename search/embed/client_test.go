package embed

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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
	if c.Dimensions() != 16 {
		t.Errorf("Dimensions() = %d after first call, want 16", c.Dimensions())
	}
}

func TestClientAzure(t *testing.T) {
	srv := embedtest.NewServer(8)
	defer srv.Close()
	c, _ := New(Config{BaseURL: srv.URL, AzureDeployment: "emb-3", APIKey: "secret"})
	if _, err := c.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Path != "/openai/deployments/emb-3/embeddings" || r.Query != "api-version=2024-10-21" {
		t.Errorf("azure URL: %s?%s", r.Path, r.Query)
	}
	if r.Header.Get("api-key") != "secret" || r.Header.Get("Authorization") != "" || r.Model != "" {
		t.Errorf("azure headers: api-key %q authorization %q model %q", r.Header.Get("api-key"), r.Header.Get("Authorization"), r.Model)
	}
	// Entra ID: a bearer token from the token source.
	c, _ = New(Config{BaseURL: srv.URL, AzureDeployment: "emb-3", Token: func(context.Context) (string, error) { return "tok", nil }})
	if _, err := c.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	r = srv.Requests()[1]
	if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("api-key") != "" {
		t.Errorf("entra headers: %v", r.Header)
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

	// A 400 is final.
	srv.Fail = []int{http.StatusBadRequest}
	_, err := c.Embed(context.Background(), []string{"x"})
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		t.Errorf("400: got %v", err)
	}
	// Retries give up after MaxRetries.
	srv.Fail = []int{500, 500, 500}
	c, _ = New(Config{BaseURL: srv.URL, Model: "m", MaxRetries: 1, MaxBackoff: time.Millisecond})
	if _, err := c.Embed(context.Background(), []string{"x"}); !errors.As(err, &se) || se.StatusCode != 500 {
		t.Errorf("exhausted retries: got %v", err)
	}
	// Cancellation stops the wait.
	srv.Fail = []int{429}
	srv.RetryAfter = "60"
	c, _ = New(Config{BaseURL: srv.URL, Model: "m"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Embed(ctx, []string{"x"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled wait: got %v", err)
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
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "3": 3 * time.Second, "0.5": 500 * time.Millisecond, "junk": 0,
		now.Add(2 * time.Second).Format(http.TimeFormat): 2 * time.Second,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{{Model: "m"}, {BaseURL: "not a url", Model: "m"}, {BaseURL: "http://x"}, {BaseURL: "http://x", Model: "m", Dimensions: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
