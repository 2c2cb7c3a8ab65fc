package modeltest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
)

// NewAnthropic starts a plain-HTTP server speaking Anthropic's Messages
// API (POST /v1/messages, anthropic-version; text and tool_use
// content blocks; usage with cache_read_input_tokens; streaming events;
// error bodies with Retry-After) and playing the same script of Replies:
//
//   - Content is a text block, each ToolCall a tool_use block whose input
//     is Args; Finish "length" is stop_reason max_tokens, "refusal" is
//     refusal, else end_turn (tool_use with ToolCalls).
//   - Prompt counts every input token, Cached of them read from the cache:
//     input_tokens is Prompt − Cached, cache_read_input_tokens Cached.
//   - An error reply's ErrorCode is the error type (rate_limit_error,
//     invalid_request_error, authentication_error, …).
//
// Request.APIKey records the x-api-key header, Request.Authorization the
// bearer token (the Go SDK v2 sends the key as one).
func NewAnthropic() *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handleAnthropic))
	return s
}

func (s *Server) handleAnthropic(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: map[string]string{}, Raw: raw,
		APIKey: r.Header.Get("x-api-key"), Authorization: r.Header.Get("Authorization")}
	for k, v := range r.URL.Query() {
		req.Query[k] = v[0]
	}
	_ = json.Unmarshal(raw, &req.Body)
	s.mu.Lock()
	s.requests = append(s.requests, req)
	n := len(s.requests)
	if len(s.script) == 0 {
		s.mu.Unlock()
		writeAnthropicError(w, http.StatusInternalServerError, "api_error", "modeltest: no scripted reply left", "")
		return
	}
	rep := s.script[0]
	s.script = s.script[1:]
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
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		writeAnthropicError(w, http.StatusNotFound, "not_found_error", "modeltest: no route "+r.Method+" "+r.URL.Path, "")
		return
	}
	if r.Header.Get("anthropic-version") == "" {
		writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version header is required", "")
		return
	}
	if rep.Status != 0 && rep.Status != http.StatusOK {
		writeAnthropicError(w, rep.Status, rep.ErrorCode, rep.ErrorMessage, rep.RetryAfter)
		return
	}
	var content []map[string]any
	if rep.Content != "" {
		content = append(content, map[string]any{"type": "text", "text": rep.Content})
	}
	stop := "end_turn"
	for _, tc := range rep.ToolCalls {
		content = append(content, map[string]any{"type": "tool_use", "id": tc.ID, "name": tc.Name, "input": json.RawMessage(tc.Args)})
		stop = "tool_use"
	}
	switch rep.Finish {
	case "length":
		stop = "max_tokens"
	case "refusal":
		stop = "refusal"
	}
	if content == nil {
		content = []map[string]any{}
	}
	model, _ := req.Body["model"].(string)
	usage := map[string]any{"input_tokens": rep.Prompt - rep.Cached, "output_tokens": rep.Completion,
		"cache_read_input_tokens": rep.Cached, "cache_creation_input_tokens": 0}
	msg := map[string]any{"id": "msg_" + strconv.Itoa(n), "type": "message", "role": "assistant", "model": model,
		"content": content, "stop_reason": stop, "stop_sequence": nil, "usage": usage}
	if stream, _ := req.Body["stream"].(bool); stream {
		writeAnthropicStream(w, msg, rep, stop)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(msg)
}

// writeAnthropicStream answers a streaming request with the Messages API's
// events: message_start (usage of the input), one text block whose text
// comes in pieces of at most 8 bytes, one block per tool_use (its input
// as one input_json_delta), message_delta (stop_reason, output tokens),
// message_stop.
func writeAnthropicStream(w http.ResponseWriter, msg map[string]any, rep Reply, stop string) {
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	send := func(event string, v map[string]any) {
		v["type"] = event
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		if fl != nil {
			fl.Flush()
		}
	}
	start := map[string]any{}
	for k, v := range msg {
		start[k] = v
	}
	start["content"], start["stop_reason"] = []any{}, nil
	start["usage"] = map[string]any{"input_tokens": rep.Prompt - rep.Cached, "output_tokens": 0,
		"cache_read_input_tokens": rep.Cached, "cache_creation_input_tokens": 0}
	send("message_start", map[string]any{"message": start})
	idx := 0
	if rep.Content != "" {
		send("content_block_start", map[string]any{"index": idx, "content_block": map[string]any{"type": "text", "text": ""}})
		for s := rep.Content; s != ""; {
			n := min(8, len(s))
			send("content_block_delta", map[string]any{"index": idx, "delta": map[string]any{"type": "text_delta", "text": s[:n]}})
			s = s[n:]
		}
		send("content_block_stop", map[string]any{"index": idx})
		idx++
	}
	for _, tc := range rep.ToolCalls {
		send("content_block_start", map[string]any{"index": idx, "content_block": map[string]any{"type": "tool_use", "id": tc.ID, "name": tc.Name, "input": map[string]any{}}})
		send("content_block_delta", map[string]any{"index": idx, "delta": map[string]any{"type": "input_json_delta", "partial_json": tc.Args}})
		send("content_block_stop", map[string]any{"index": idx})
		idx++
	}
	send("message_delta", map[string]any{"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": rep.Completion}})
	send("message_stop", map[string]any{})
}

func writeAnthropicError(w http.ResponseWriter, status int, typ, msg, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
}
