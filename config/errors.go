package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with the configuration, located as precisely as
// the source allows.
type Problem struct {
	// File is the file the problem is in ("" for an environment variable).
	File string
	// Line is the 1-based line in File (0 when unknown).
	Line int
	// Col is the 1-based column (set for syntax errors only; 0 otherwise).
	Col int
	// Path is the field path ("servers.github.timeout") or, for an
	// environment override, the variable name ("TOOL_TIMEOUT").
	Path string
	// Msg says what is wrong and what is allowed. It quotes the value as
	// written (before ${VAR} expansion) and never quotes a secret.
	Msg string
}

// String renders the problem as "file:line: path: msg"; parts that are
// unknown are left out.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Col > 0 {
				fmt.Fprintf(&b, ":%d", p.Col)
			}
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is every problem found while loading a configuration. Load and
// Parse return it (as *Error) for any invalid input, so callers can use
// errors.As to list the problems one by one.
type Error struct {
	// Problems, ordered by file and line; environment problems come last.
	Problems []Problem
}

// Error prints one problem per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects Problems while a configuration is read.
type problems []Problem

func (ps *problems) add(p Problem) { *ps = append(*ps, p) }

// err returns nil when there is no problem, else an *Error with the problems
// sorted: files in order of first appearance, then by line; problems
// without a file (environment variables) last, in the order found.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	order := map[string]int{}
	for _, p := range ps {
		if _, ok := order[p.File]; !ok && p.File != "" {
			order[p.File] = len(order)
		}
	}
	out := slices.Clone([]Problem(ps))
	slices.SortStableFunc(out, func(a, b Problem) int {
		if (a.File == "") != (b.File == "") {
			if a.File == "" {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(order[a.File], order[b.File]); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
	})
	return &Error{Problems: out}
}
