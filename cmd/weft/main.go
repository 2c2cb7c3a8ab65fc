// Command weft is the CLI of weft, a tool orchestrator for LLM agents. Each
// command lives in its own file and does no more than flags → facade →
// output.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed (tool error, failed program)
	exitUsage   = 2 // bad flags, arguments or configuration
)

func main() {
	err := newRoot().Execute()
	if err == nil {
		os.Exit(exitOK)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, prefixed(ee.msg))
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, prefixed(err.Error()))
	os.Exit(exitUsage)
}

// prefixed puts "weft: " before msg unless an error of the library already
// begins with it (the facade's errors say "weft: plans: …").
func prefixed(msg string) string {
	if strings.HasPrefix(msg, "weft: ") {
		return msg
	}
	return "weft: " + msg
}

// exitError carries an exit code to main. An empty msg prints nothing more.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, a...)}
}

func failure(format string, a ...any) error {
	return &exitError{code: exitFailure, msg: fmt.Sprintf(format, a...)}
}
