// Package modeltest is a local chat-completions server for tests: it
// speaks the wire format of OpenAI and Azure OpenAI (deployment paths with
// api-version, api-key header or bearer token, tool calls, structured
// output, usage with cached tokens, error bodies, Retry-After) and plays
// a script of model turns.
package modeltest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
)

// ToolCall is a function call a scripted turn asks for.
type ToolCall struct {
	ID, Name string
	// Args is the arguments' JSON text.
	Args string
}

// Reply is one scripted answer.
type Reply struct {
	// Status, when not 200, answers with an error: ErrorCode and
	// ErrorMessage in OpenAI's error body, and RetryAfter (seconds) as the
	// Retry-After header when set.
	Status       int
	ErrorCode    string
	ErrorMessage string
	RetryAfter   string
	// InnerError is added as error.innererror (Azure's content filter).
	InnerError map[string]any

	// Content is the assistant's text (or JSON for structured output).
	Content   string
	ToolCalls []ToolCall
	// Finish is the finish_reason (default stop, or tool_calls with ToolCalls).
	Finish string
	// Usage of the turn.
	Prompt, Cached, Completion int64
	// Wait, when set, is waited on before answering (or until the request
	// is canceled), for cancellation tests.
	Wait <-chan struct{}
	// Arrived, when set, is closed when the request arrives.
	Arrived chan struct{}
}

// Request is a request the server received.
type Request struct {
	Method, Path string
	Query        map[string]string
	// APIKey is the api-key header; Authorization the Authorization header.
	APIKey, Authorization string
	// Body is the decoded JSON body.
	Body map[string]any
	// Raw is the body as received.
	Raw []byte
}

// Messages returns the request's messages.
func (r Request) Messages() []map[string]any {
	var out []map[string]any
	if ms, ok := r.Body["messages"].([]any); ok {
		for _, m := range ms {
			if mm, ok := m.(map[string]any); ok {
				out = append(out, mm)
			}
		}
	}
	return out
}

// Server is a scripted chat-completions server.
type Server struct {
	*httptest.Server

	// PrefixCache models provider prompt caching: a reply's prompt tokens
	// are the request's messages in bytes / 4 (when the reply sets none),
	// and its cached tokens the longest prefix (bytes / 4, in blocks of
	// 16) the messages share with an earlier request's. Set it before the
	// first request.
	PrefixCache bool
	prompts     [][]byte

	mu       sync.Mutex
	script   []Reply
	requests []Request
	// Canceled counts requests whose client went away while they waited.
	canceled int
}

// New starts a plain-HTTP server (OpenAI, openai-compatible).
func New() *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// NewTLS starts an HTTPS server (Azure OpenAI; use Client()).
func NewTLS() *Server {
	s := &Server{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.handle))
	return s
}

// Push appends replies to the script.
func (s *Server) Push(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, r...)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Remaining is the number of replies not played yet.
func (s *Server) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.script)
}

// Canceled is the number of requests whose client went away while waiting.
func (s *Server) Canceled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.canceled
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: map[string]string{}, Raw: raw,
		APIKey: r.Header.Get("api-key"), Authorization: r.Header.Get("Authorization")}
	for k, v := range r.URL.Query() {
		req.Query[k] = v[0]
	}
	_ = json.Unmarshal(raw, &req.Body)
	s.mu.Lock()
	s.requests = append(s.requests, req)
	if len(s.script) == 0 {
		s.mu.Unlock()
		writeError(w, http.StatusInternalServerError, "script_exhausted", "modeltest: no scripted reply left", nil, "")
		return
	}
	rep := s.script[0]
	s.script = s.script[1:]
	if s.PrefixCache {
		msgs, _ := json.Marshal(req.Body["messages"])
		best := 0
		for _, p := range s.prompts {
			n := 0
			for n < len(p) && n < len(msgs) && p[n] == msgs[n] {
				n++
			}
			best = max(best, n)
		}
		s.prompts = append(s.prompts, msgs)
		if rep.Prompt == 0 {
			rep.Prompt = int64(len(msgs) / 4)
		}
		rep.Cached = int64(best/4) / 16 * 16
	}
	s.mu.Unlock()

	if rep.Arrived != nil {
		close(rep.Arrived)
	}
	if rep.Wait != nil {
		select {
		case <-rep.Wait:
		case <-r.Context().Done():
			s.mu.Lock()
			s.canceled++
			s.mu.Unlock()
			return
		}
	}
	if rep.Status != 0 && rep.Status != http.StatusOK {
		writeError(w, rep.Status, rep.ErrorCode, rep.ErrorMessage, rep.InnerError, rep.RetryAfter)
		return
	}
	msg := map[string]any{"role": "assistant", "content": rep.Content}
	finish := rep.Finish
	if len(rep.ToolCalls) > 0 {
		var tcs []map[string]any
		for _, tc := range rep.ToolCalls {
			tcs = append(tcs, map[string]any{"id": tc.ID, "type": "function",
				"function": map[string]any{"name": tc.Name, "arguments": tc.Args}})
		}
		msg["tool_calls"] = tcs
		if rep.Content == "" {
			msg["content"] = nil
		}
		if finish == "" {
			finish = "tool_calls"
		}
	}
	if finish == "" {
		finish = "stop"
	}
	model, _ := req.Body["model"].(string)
	if stream, _ := req.Body["stream"].(bool); stream {
		writeStream(w, model, rep, finish)
		return
	}
	body := map[string]any{
		"id": "chatcmpl-" + strconv.Itoa(len(s.Requests())), "object": "chat.completion", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage": map[string]any{"prompt_tokens": rep.Prompt, "completion_tokens": rep.Completion,
			"total_tokens":          rep.Prompt + rep.Completion,
			"prompt_tokens_details": map[string]any{"cached_tokens": rep.Cached}},
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// writeStream answers a streaming request: the content in pieces of at
// most 8 bytes, one chunk each, then the finish reason, then (as with
// stream_options.include_usage) a chunk with the usage, then [DONE].
func writeStream(w http.ResponseWriter, model string, rep Reply, finish string) {
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": "chatcmpl-stream", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	for s := rep.Content; s != ""; {
		n := min(8, len(s))
		send(chunk(map[string]any{"role": "assistant", "content": s[:n]}, nil))
		s = s[n:]
	}
	send(chunk(map[string]any{}, finish))
	send(map[string]any{"id": "chatcmpl-stream", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
		"choices": []any{}, "usage": map[string]any{"prompt_tokens": rep.Prompt, "completion_tokens": rep.Completion,
			"total_tokens": rep.Prompt + rep.Completion, "prompt_tokens_details": map[string]any{"cached_tokens": rep.Cached}}})
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func writeError(w http.ResponseWriter, status int, code, msg string, inner map[string]any, retryAfter string) {
	e := map[string]any{"code": code, "message": msg, "type": "invalid_request_error", "param": nil}
	if inner != nil {
		e["innererror"] = inner
	}
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

// Plan returns the planner's structured output for tool steps given as
// (id, tool, args JSON) triples.
func Plan(steps ...[3]string) string {
	var out []map[string]any
	for _, s := range steps {
		out = append(out, map[string]any{"id": s[0], "tool": s[1], "args_json": s[2], "code": nil, "llm_prompt": nil, "depends_on": []string{}})
	}
	b, err := json.Marshal(map[string]any{"steps": out})
	if err != nil {
		panic(fmt.Sprint("modeltest: ", err))
	}
	return string(b)
}
