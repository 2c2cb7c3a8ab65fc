package sandbox

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/weft-dev/weft/internal/redact"
)

// Sizes the prelude checks on a string's length before handing it to Go.
const (
	maxToolName     = 512       // a longer name cannot be a catalog name; it is cut
	maxSearchQuery  = 4 << 10   // searchTools queries are cut to this
	maxErrorMessage = 16 << 10  // error messages and stacks are cut to this
	maxLoggedArgs   = 4 << 10   // arguments in the call log are cut to this (after redaction)
	argsNotCopied   = "omitted" // how the log shows arguments that were never copied out of the VM
)

// preludeLimits are the sizes the prelude enforces, from the run's limits.
func (r *run) preludeLimits() map[string]any {
	return map[string]any{
		"maxArgs":    r.lim.MaxArgumentBytes,
		"maxResult":  r.lim.MaxResultBytes,
		"maxConsole": r.lim.MaxConsoleBytes,
		"maxName":    maxToolName,
		"maxQuery":   maxSearchQuery,
		"maxMessage": maxErrorMessage,
	}
}

// reserve counts n bytes held in Go for this run (call arguments in flight,
// results waiting to be delivered) against the run's memory limit: the
// bridge must not hold more for a program than its VM may. It reports
// false, and counts nothing, when n does not fit.
func (r *run) reserve(n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bridgeBytes+int64(n) > r.lim.MemoryBytes {
		return false
	}
	r.bridgeBytes += int64(n)
	return true
}

// release returns n bytes reserved with reserve.
func (r *run) release(n int) {
	r.mu.Lock()
	r.bridgeBytes -= int64(n)
	r.mu.Unlock()
}

// logArgs is what the call log keeps of a call's arguments: redacted by
// weft's one redactor (internal/redact: the tool's input schema hints,
// secret names, secret shapes inside values), and cut to maxLoggedArgs
// bytes (then a JSON string holding the start of the redacted text and the
// full size).
func logArgs(args, schema json.RawMessage) json.RawMessage {
	red := redact.JSON(args, schema)
	if len(red) <= maxLoggedArgs {
		return red
	}
	cut := maxLoggedArgs
	for cut > 0 && !utf8.RuneStart(red[cut]) {
		cut--
	}
	b, _ := json.Marshal(fmt.Sprintf("[%d bytes, truncated] %s", len(args), red[:cut]))
	return b
}

// omittedArgs is the call-log entry of arguments too large to copy.
func omittedArgs(n int) json.RawMessage {
	b, _ := json.Marshal(fmt.Sprintf("[%d characters, %s: larger than max_argument_bytes]", n, argsNotCopied))
	return b
}
