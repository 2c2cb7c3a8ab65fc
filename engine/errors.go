package engine

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/weft-dev/weft/catalog"
)

// Code classifies why a call did not produce a result.
type Code string

// Error codes. Each maps to one HTTP status (see Error.HTTPStatus).
const (
	CodeUnknownTool      Code = "unknown_tool"      // 404
	CodeInvalidArguments Code = "invalid_arguments" // 400
	CodeTimeout          Code = "timeout"           // 504
	CodeCanceled         Code = "canceled"          // 499 (client closed request)
	CodeUnavailable      Code = "unavailable"       // 503: upstream not connected
	CodeOverloaded       Code = "overloaded"        // 503: no concurrency slot in time
	CodeUpstream         Code = "upstream_error"    // 502: transport / protocol failure
)

// Error is the error every engine call fails with.
type Error struct {
	Code   Code
	Tool   string
	Server string
	// Msg is a human-readable explanation (never contains secrets).
	Msg string
	// Problems lists argument violations for CodeInvalidArguments.
	Problems []catalog.Problem
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	if e.Tool == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s: %s", e.Tool, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus maps the code to the status REST surfaces answer with.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case CodeUnknownTool:
		return http.StatusNotFound
	case CodeInvalidArguments:
		return http.StatusBadRequest
	case CodeTimeout:
		return http.StatusGatewayTimeout
	case CodeCanceled:
		return 499
	case CodeUnavailable, CodeOverloaded:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadGateway
	}
}

// AsError returns err as an *Error if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
