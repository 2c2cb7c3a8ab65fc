package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/source"
)

// callError classifies a failed request on session s. ctx is the caller's
// own context (not the one bound to the session). tool is empty for lists.
//
//   - the caller's context ended: its error (DeadlineExceeded, Canceled);
//   - the upstream was closed: source.ErrClosed;
//   - a JSON-RPC error answer: source.ErrUnknownTool when it says the tool
//     (or tools/call) does not exist, source.ErrProtocol for parse/invalid
//     request errors, otherwise a plain upstream error;
//   - output that is not JSON-RPC, or a result that does not decode:
//     source.ErrProtocol;
//   - a broken connection or exited process: source.ErrUnavailable.
//
// Messages go through the redactor: upstreams echo headers and env values.
func (u *Upstream) callError(ctx context.Context, s *session, op, tool string, err error) error {
	name := u.cfg.Name
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			u.probe(s) // is it slow, or has it stopped answering?
		}
		return fmt.Errorf("mcp %s: %s: %w", name, op, ctx.Err())
	}
	u.mu.Lock()
	closed := u.closed
	u.mu.Unlock()
	if closed {
		return fmt.Errorf("mcp %s: %s: %w", name, op, source.ErrClosed)
	}
	if errors.Is(err, source.ErrProtocol) { // from listTools
		return fmt.Errorf("mcp %s: %s: %s", name, op, u.red.redact(err.Error()))
	}
	msg := u.red.redact(err.Error())
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		switch {
		case we.Code == jsonrpc.CodeParseError || we.Code == jsonrpc.CodeInvalidRequest:
			return fmt.Errorf("mcp %s: %s: %w: %s", name, op, source.ErrProtocol, msg)
		case we.Code == codeTooLarge: // put in place of the answer by frameGuard
			return fmt.Errorf("mcp %s: %s: %w: %s", name, op, source.ErrTooLarge, we.Message)
		case tool != "" && isUnknownTool(we, tool):
			return fmt.Errorf("mcp %s: %s: %w: %s", name, op, source.ErrUnknownTool, u.red.redact(we.Message))
		}
		return fmt.Errorf("mcp %s: %s: upstream error %d: %s", name, op, we.Code, u.red.redact(we.Message))
	}
	if malformed(err) {
		return fmt.Errorf("mcp %s: %s: %w: %s", name, op, source.ErrProtocol, msg)
	}
	if s.ctx.Err() != nil || transportFailure(err) || s.isEnded() {
		if s.isEnded() && s.endReason != "" && s.endReason != "closed" {
			msg += " (" + s.endReason + ")"
		}
		return fmt.Errorf("mcp %s: %s: %w: %s", name, op, source.ErrUnavailable, msg)
	}
	return fmt.Errorf("mcp %s: %s: %w: %s", name, op, source.ErrProtocol, msg)
}

// isUnknownTool recognises the "no such tool" answers of the Go SDK
// (-32602 `unknown tool "x"`), the TypeScript SDK (-32602 "Tool x not
// found") and servers without tools support (-32601 method not found).
func isUnknownTool(we *jsonrpc.Error, tool string) bool {
	m := strings.ToLower(we.Message)
	switch we.Code {
	case jsonrpc.CodeMethodNotFound:
		return true
	case jsonrpc.CodeInvalidParams:
		return strings.Contains(m, "unknown tool") ||
			(strings.Contains(m, "not found") && strings.Contains(m, strings.ToLower(tool)))
	}
	return false
}

// tsUnknownTool is the tool-error text the TypeScript SDK's McpServer
// answers a call of an unknown tool with (as an isError result, not a
// JSON-RPC error).
func tsUnknownTool(tool string) string {
	return fmt.Sprintf("MCP error %d: Tool %s not found", jsonrpc.CodeInvalidParams, tool)
}

// malformed reports errors that mean the peer's bytes were not valid
// JSON-RPC (or the result did not decode).
func malformed(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return true
	}
	m := err.Error()
	return strings.Contains(m, "unmarshal") || strings.Contains(m, "invalid character") ||
		strings.Contains(m, "invalid message") || strings.Contains(m, "invalid trailing data") ||
		strings.Contains(m, "frame exceeded")
}

// transportFailure reports errors of a connection that broke or is gone.
func transportFailure(err error) bool {
	for _, target := range []error{io.EOF, io.ErrUnexpectedEOF, io.ErrClosedPipe, os.ErrClosed, net.ErrClosed,
		sdk.ErrConnectionClosed, sdk.ErrSessionMissing, syscall.EPIPE, syscall.ECONNRESET, syscall.ECONNREFUSED} {
		if errors.Is(err, target) {
			return true
		}
	}
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue)
}
