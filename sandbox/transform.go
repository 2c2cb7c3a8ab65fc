package sandbox

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/evanw/esbuild/pkg/api"
)

// The program becomes the body of an async function expression. QuickJS
// evaluates the script with programLine blank lines in front of it, so that
// every location at or after programLine belongs to the program and every
// location before it to the prelude (both are named "<eval>").
const (
	wrapperHead = "(async function () {\n"
	wrapperTail = "\n})"
	programLine = 1000
)

// compiled is a program ready for QuickJS.
type compiled struct {
	js string // the script to evaluate (with the blank-line prefix)
	// fnText is the source text the script's function must have: the
	// whole wrapper, so that a program cannot have closed it early.
	fnText string
	src    *sourceMap // maps esbuild's output back to the TypeScript source; nil for JS
	// lines and endCol locate the end of the original program: errors
	// reported in the wrapper's closing (an unterminated expression) are
	// placed there.
	lines, endCol int
}

// programEnd returns the number of lines of code and the column just past
// its last character.
func programEnd(code string) (lines, endCol int) {
	lines = strings.Count(code, "\n") + 1
	last := code[strings.LastIndexByte(code, '\n')+1:]
	return lines, utf8.RuneCountInString(last) + 1
}

// clamp moves a position past the end of the program to its end.
func (c *compiled) clamp(line, col int) (int, int) {
	if c.lines > 0 && line > c.lines {
		return c.lines, c.endCol
	}
	return line, col
}

// compile wraps (and for TypeScript, transforms) code. A syntax error is
// returned as a RunError with the original line and column.
func compile(code string, lang Language) (*compiled, *RunError) {
	prefix := strings.Repeat("\n", programLine)
	lines, endCol := programEnd(code)
	if lang == JavaScript {
		w := wrapperHead + code + wrapperTail
		return &compiled{js: prefix + w, fnText: w[1 : len(w)-1], lines: lines, endCol: endCol}, nil
	}
	res := api.Transform(wrapperHead+code+wrapperTail, api.TransformOptions{
		Loader:    api.LoaderTS,
		Target:    api.ES2022,
		Sourcemap: api.SourceMapExternal,
		LogLevel:  api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		m := res.Errors[0]
		e := &RunError{Kind: KindSyntax, Message: m.Text}
		if l := m.Location; l != nil {
			e.Line, e.Column = l.Line-1, columnOf(l.LineText, l.Column)
			if e.Line < 1 {
				e.Line, e.Column = 1, 1
			}
			if e.Line > lines {
				e.Line, e.Column = lines, endCol
			}
			e.Message = fmt.Sprintf("%s (line %d, column %d)", m.Text, e.Line, e.Column)
		}
		return nil, e
	}
	sm, err := parseSourceMap(res.Map)
	if err != nil {
		return nil, &RunError{Kind: KindInternal, Message: "source map: " + err.Error()}
	}
	out := string(res.Code) // "(async function() {\n…\n});\n"
	fnText := ""
	if strings.HasPrefix(out, "(") && strings.HasSuffix(out, ");\n") {
		fnText = out[1 : len(out)-3]
	}
	return &compiled{js: prefix + out, fnText: fnText, src: sm, lines: lines, endCol: endCol}, nil
}

// columnOf converts a 0-based byte offset in line to a 1-based character column.
func columnOf(line string, byteCol int) int {
	if byteCol > len(line) {
		byteCol = len(line)
	}
	if byteCol < 0 {
		byteCol = 0
	}
	return utf8.RuneCountInString(line[:byteCol]) + 1
}

// position maps a 1-based (line, column) of the evaluated script to the
// original source; ok is false for locations outside the program.
func (c *compiled) position(line, col int) (int, int, bool) {
	if line <= programLine {
		return 0, 0, false
	}
	line -= programLine // 1-based line in the wrapped (or transformed) text
	if c.src == nil {
		line-- // the wrapper head
		if line < 1 {
			return 0, 0, false
		}
		line, col = c.clamp(line, col)
		return line, col, true
	}
	ol, oc, ok := c.src.lookup(line-1, col-1)
	if !ok || ol < 1 {
		return 0, 0, false
	}
	ol, oc1 := c.clamp(ol, oc+1)
	return ol, oc1, true // ol is 0-based in the wrapped source, whose line 0 is the head
}

var stackFrame = regexp.MustCompile(`<eval>:(\d+):(\d+)`)

// locate finds the first frame of stack that lies in the program.
func (c *compiled) locate(stack string) (int, int) {
	for _, m := range stackFrame.FindAllStringSubmatch(stack, -1) {
		l, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		if ol, oc, ok := c.position(l, col); ok {
			return ol, oc
		}
	}
	return 0, 0
}

// cleanStack rewrites the program's frames of a QuickJS stack to original
// positions ("<program>:line:col") and drops the prelude's frames.
func (c *compiled) cleanStack(stack string) string {
	var out []string
	for _, ln := range strings.Split(stack, "\n") {
		m := stackFrame.FindStringSubmatchIndex(ln)
		if m == nil {
			continue
		}
		l, _ := strconv.Atoi(ln[m[2]:m[3]])
		col, _ := strconv.Atoi(ln[m[4]:m[5]])
		ol, oc, ok := c.position(l, col)
		if !ok {
			continue
		}
		out = append(out, ln[:m[0]]+"<program>:"+strconv.Itoa(ol)+":"+strconv.Itoa(oc)+ln[m[1]:])
	}
	return strings.Join(out, "\n")
}

// sourceMap is a decoded source map (version 3, one source): for each
// generated line, its segments sorted by generated column.
type sourceMap struct {
	lines [][]segment
}

type segment struct{ genCol, line, col int }

func parseSourceMap(raw []byte) (*sourceMap, error) {
	var m struct {
		Mappings string `json:"mappings"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	sm := &sourceMap{}
	var srcLine, srcCol, srcIdx int
	for _, lineText := range strings.Split(m.Mappings, ";") {
		var segs []segment
		genCol := 0
		for _, seg := range strings.Split(lineText, ",") {
			if seg == "" {
				continue
			}
			vals, err := decodeVLQ(seg)
			if err != nil {
				return nil, err
			}
			genCol += vals[0]
			if len(vals) >= 4 {
				srcIdx += vals[1]
				srcLine += vals[2]
				srcCol += vals[3]
				segs = append(segs, segment{genCol, srcLine, srcCol})
			}
		}
		sm.lines = append(sm.lines, segs)
	}
	_ = srcIdx
	return sm, nil
}

// lookup maps a 0-based generated position to a 0-based original one.
func (sm *sourceMap) lookup(line, col int) (int, int, bool) {
	if line < 0 || line >= len(sm.lines) {
		return 0, 0, false
	}
	segs := sm.lines[line]
	if len(segs) == 0 {
		return 0, 0, false
	}
	best := segs[0]
	for _, s := range segs {
		if s.genCol > col {
			break
		}
		best = s
	}
	return best.line, best.col, true
}

const vlqChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func decodeVLQ(s string) ([]int, error) {
	var out []int
	shift, value := 0, 0
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(vlqChars, s[i])
		if d < 0 {
			return nil, fmt.Errorf("bad VLQ digit %q", s[i])
		}
		value += (d & 31) << shift
		if d&32 != 0 {
			shift += 5
			continue
		}
		if value&1 != 0 {
			out = append(out, -(value >> 1))
		} else {
			out = append(out, value>>1)
		}
		shift, value = 0, 0
	}
	return out, nil
}
