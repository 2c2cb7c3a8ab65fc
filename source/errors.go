package source

import "errors"

// Errors a Source wraps so callers can classify failures.
var (
	// ErrUnavailable: the upstream is not connected (starting, crashed, restarting).
	ErrUnavailable = errors.New("upstream unavailable")
	// ErrClosed: the source was closed.
	ErrClosed = errors.New("source closed")
	// ErrUnknownTool: the upstream does not know the tool.
	ErrUnknownTool = errors.New("unknown tool")
	// ErrProtocol: the upstream broke the protocol (malformed JSON-RPC, bad result).
	ErrProtocol = errors.New("protocol error")
	// ErrTooLarge: the upstream's answer exceeded the size limit for one
	// message; the call failed, the connection is kept.
	ErrTooLarge = errors.New("answer too large")
)
