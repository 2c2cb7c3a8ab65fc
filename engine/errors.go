package engine

import (
	"errors"
	"fmt"

	"github.com/weft-dev/weft/catalog"
)

// Code classifies why a call did not produce a result.
type Code string

// Error codes. Surfaces map them to their own terms (the REST server to
// HTTP statuses).
const (
	CodeUnknownTool      Code = "unknown_tool"      // no such tool, or one the caller's policy hides
	CodeInvalidArguments Code = "invalid_arguments" // the arguments violate the input schema
	CodeTimeout          Code = "timeout"           // no result within the timeout
	CodeCanceled         Code = "canceled"          // the caller gave up
	CodeUnavailable      Code = "unavailable"       // upstream not connected
	CodeOverloaded       Code = "overloaded"        // no concurrency slot in time
	CodeUpstream         Code = "upstream_error"    // transport / protocol failure
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

// AsError returns err as an *Error if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
