package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Problem is one thing wrong with a plan, found while parsing or checking.
type Problem struct {
	// Path is the JSON path of the offending value: "steps[3].args.query".
	Path string `json:"path"`
	// Line and Column (1-based) locate Path in the document, when the plan
	// was parsed from one.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Code classifies the problem (see the Problem codes).
	Code string `json:"code"`
	// Message says what is wrong and what is allowed.
	Message string `json:"message"`
}

// Problem codes.
const (
	ProblemSyntax         = "syntax"           // the document is not JSON
	ProblemInvalid        = "invalid"          // a field has the wrong type or value
	ProblemUnknownField   = "unknown_field"    // a field the format does not have, or a reference into a field the producer does not have
	ProblemDuplicateID    = "duplicate_id"     // two steps share an id
	ProblemUnknownTool    = "unknown_tool"     // the tool is not in the catalog
	ProblemInvalidArgs    = "invalid_args"     // literal arguments violate the tool's input schema
	ProblemUnknownStep    = "unknown_step"     // a reference or depends_on names no step
	ProblemUnknownInput   = "unknown_input"    // a reference names an input the plan does not declare
	ProblemBadReference   = "bad_reference"    // a reference is malformed or used where it is not defined
	ProblemCycle          = "cycle"            // the dependencies form a cycle
	ProblemForeachNotList = "foreach_not_list" // foreach is given something that is not a list
	ProblemCEL            = "cel"              // a when condition does not compile or is not boolean
	ProblemTypeMismatch   = "type_mismatch"    // a referenced value's type does not fit the consuming tool's schema
	ProblemInvalidInputs  = "invalid_inputs"   // run-time inputs violate the plan's inputs schema
)

// String renders the problem as "path (line:col): message".
func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
	} else {
		b.WriteString("(plan)")
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, " (%d:%d)", p.Line, p.Column)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	return b.String()
}

// ProblemsError carries every problem found in a plan. Parse returns it for
// documents that are not valid plans, and Executor.Run for plans or inputs
// that fail Check.
type ProblemsError struct {
	Problems []Problem
}

// Error lists every problem, one per line.
func (e *ProblemsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan: %d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteByte('s')
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// joinKey appends an object key to a JSON path.
func joinKey(path, key string) string {
	if !plainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// joinIndex appends an array index to a JSON path.
func joinIndex(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		ok := r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// pointerToPath turns a JSON Pointer ("/items/0/id") into path segments
// appended to base ("steps[1].args.items[0].id").
func pointerToPath(base, ptr string) string {
	if ptr == "" {
		return base
	}
	for _, seg := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		if n, err := strconv.Atoi(seg); err == nil && n >= 0 && strconv.Itoa(n) == seg {
			base = joinIndex(base, n)
			continue
		}
		base = joinKey(base, seg)
	}
	return base
}

// document is the document a plan was parsed from; it maps JSON paths to
// line:col, computed on first use.
type document struct {
	data []byte
	base string // path prefix of the plan inside the document (nested plans)
	once sync.Once
	pos  map[string]int
}

// locate fills Line/Column of problems whose path is in the document.
func (s *document) locate(probs []Problem) {
	if s == nil {
		return
	}
	s.once.Do(func() { s.pos = positions(s.data) })
	for i := range probs {
		if probs[i].Line > 0 {
			continue
		}
		path := probs[i].Path
		for {
			if off, ok := s.pos[path]; ok {
				probs[i].Line, probs[i].Column = lineCol(s.data, off)
				break
			}
			if path == "" {
				break
			}
			path = parentPath(path)
		}
	}
}

// parentPath strips the last segment of a JSON path.
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndex(p, "["); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

func lineCol(data []byte, off int) (int, int) {
	if off > len(data) {
		off = len(data)
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// positions maps the JSON path of every value in data to the offset where
// the value starts.
func positions(data []byte) map[string]int {
	pos := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var walk func(path string) bool
	walk = func(path string) bool {
		start := skipSeparators(data, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		pos[path] = start
		d, ok := tok.(json.Delim)
		if !ok {
			return true
		}
		switch d {
		case '{':
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return false
				}
				key, _ := k.(string)
				if !walk(joinKey(path, key)) {
					return false
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if !walk(joinIndex(path, i)) {
					return false
				}
			}
		}
		_, err = dec.Token() // closing delimiter
		return err == nil
	}
	walk("")
	return pos
}

func skipSeparators(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
		default:
			return off
		}
	}
	return off
}
