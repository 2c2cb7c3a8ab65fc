package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// parseJSON parses data (JSON, or JSONC with comments and trailing commas
// as VS Code writes them) into a node tree. Syntax errors are reported with
// line and column.
func parseJSON(file string, data []byte, probs *problems) *node {
	clean := stripJSONC(data)
	var v any
	if err := json.Unmarshal(clean, &v); err != nil {
		p := Problem{File: file, Msg: "JSON syntax error: " + err.Error()}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off := int(se.Offset) - 1
			p.Line, p.Col = lineCol(clean, off)
		}
		probs.add(p)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.UseNumber()
	b := &jsonBuilder{data: clean, dec: dec}
	n, err := b.value()
	if err != nil { // unreachable after a successful Unmarshal; kept for safety
		probs.add(Problem{File: file, Msg: "JSON syntax error: " + err.Error()})
		return nil
	}
	return n
}

// jsonBuilder walks the token stream, recording where each value starts.
type jsonBuilder struct {
	data []byte
	dec  *json.Decoder
}

// next returns the line where the next token starts.
func (b *jsonBuilder) next() int {
	i := int(b.dec.InputOffset())
	for i < len(b.data) {
		switch b.data[i] {
		case ' ', '\t', '\r', '\n', ',', ':':
			i++
			continue
		}
		break
	}
	line, _ := lineCol(b.data, i)
	return line
}

func (b *jsonBuilder) value() (*node, error) {
	line := b.next()
	tok, err := b.dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			n := &node{kind: kindMap, line: line}
			for b.dec.More() {
				kline := b.next()
				k, err := b.dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := b.value()
				if err != nil {
					return nil, err
				}
				n.pairs = append(n.pairs, pair{key: fmt.Sprint(k), line: kline, val: v})
			}
			_, err := b.dec.Token() // '}'
			return n, err
		}
		n := &node{kind: kindSeq, line: line}
		for b.dec.More() {
			v, err := b.value()
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, v)
		}
		_, err := b.dec.Token() // ']'
		return n, err
	case nil:
		return &node{kind: kindNull, line: line}, nil
	case string:
		return &node{kind: kindScalar, line: line, text: t}, nil
	default: // json.Number, bool
		return &node{kind: kindScalar, line: line, text: fmt.Sprint(t)}, nil
	}
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// stripJSONC returns a copy of data with // and /* */ comments and
// trailing commas replaced by spaces, so that offsets (and so line:col in
// errors) are unchanged. Plain JSON comes back as it was.
func stripJSONC(data []byte) []byte {
	out := bytes.Clone(data)
	blank := func(i, j int) {
		for k := i; k < j; k++ {
			if out[k] != '\n' && out[k] != '\r' {
				out[k] = ' '
			}
		}
	}
	lastComma := -1 // offset of a comma with only space/comments after it
	for i := 0; i < len(out); i++ {
		switch c := out[i]; {
		case c == '"':
			lastComma = -1
			for i++; i < len(out) && out[i] != '"'; i++ {
				if out[i] == '\\' {
					i++
				}
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			j := i
			for j < len(out) && out[j] != '\n' {
				j++
			}
			blank(i, j)
			i = j - 1
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			j := bytes.Index(out[i+2:], []byte("*/"))
			if j < 0 {
				return out // unterminated comment: let the JSON parser complain
			}
			blank(i, i+2+j+2)
			i = i + 2 + j + 1
		case c == ',':
			lastComma = i
		case c == '}' || c == ']':
			if lastComma >= 0 {
				out[lastComma] = ' '
			}
			lastComma = -1
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			lastComma = -1
		}
	}
	return out
}
