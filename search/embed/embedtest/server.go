// Package embedtest runs a real HTTP server speaking the OpenAI-compatible
// /embeddings wire format, with deterministic vectors, for tests of the
// dense search path. No network, no model.
package embedtest

import (
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"unicode"
)

// Server is a fake embeddings endpoint. Each text's vector is a bag of its
// lower-cased words hashed into Dim buckets, so texts sharing words are
// close in cosine terms.
type Server struct {
	*httptest.Server
	// Dim is the vector length returned.
	Dim int

	mu       sync.Mutex
	requests []Request
	// Fail makes the next responses fail: each element is a status code
	// (with Retry-After: RetryAfter when set) answered before succeeding.
	Fail       []int
	RetryAfter string
	// FailBody is the body of failed responses (default an OpenAI-style
	// {"error":{"message":"try later"}}); TEI, for one, answers
	// {"error":"...","error_type":"..."}.
	FailBody string
	down     int // see SetDown
}

// Request is what the server saw in one call.
type Request struct {
	Path   string
	Query  string
	Header http.Header
	Model  string
	Input  []string
	Dims   int
}

// NewServer starts a server; Close it when done.
func NewServer(dim int) *Server {
	s := &Server{Dim: dim}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// NewTLSServer starts a server on HTTPS (Azure OpenAI clients send
// credentials over HTTPS only); use its Client(), which trusts the
// server's certificate. Close it when done.
func NewTLSServer(dim int) *Server {
	s := &Server{Dim: dim}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.handle))
	return s
}

// SetDown makes the server answer every request with status (an outage)
// until SetDown(0). Safe to call while requests are in flight.
func (s *Server) SetDown(status int) {
	s.mu.Lock()
	s.down = status
	s.mu.Unlock()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Vector is the deterministic embedding of text.
func Vector(text string, dim int) []float32 {
	v := make([]float32, dim)
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		h := fnv.New32a()
		h.Write([]byte(w))
		v[h.Sum32()%uint32(dim)]++
	}
	v[dim-1] += 0.01 // never the zero vector
	return v
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model      string   `json:"model"`
		Input      []string `json:"input"`
		Dimensions int      `json:"dimensions"`
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/embeddings") {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Model: req.Model, Input: req.Input, Dims: req.Dimensions})
	fail := s.down
	if fail == 0 && len(s.Fail) > 0 {
		fail, s.Fail = s.Fail[0], s.Fail[1:]
	}
	retryAfter, failBody := s.RetryAfter, s.FailBody
	s.mu.Unlock()
	if fail != 0 {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		if failBody == "" {
			failBody = `{"error":{"message":"try later"}}`
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(fail)
		io.WriteString(w, failBody)
		return
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	data := make([]item, len(req.Input))
	// Answer in reverse order: clients must sort by index.
	for i, t := range req.Input {
		data[len(req.Input)-1-i] = item{Object: "embedding", Index: i, Embedding: Vector(t, s.Dim)}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model})
}
