package plan

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// argTmpl is a tool step's arguments compiled once, in compile: constant
// parts are JSON bytes already, keys are quoted already, references are
// parsed already. Rendering appends straight to the request bytes — no
// map[string]any copy of the arguments, no template parsing, no
// json.Marshal of the whole — and gives the bytes json.Marshal would give
// for the rendered value (keys sorted, the same string escaping).
type argTmpl struct {
	lit   []byte    // a constant value, marshaled
	whole *ref      // exactly one reference: its value
	parts []tpart   // a string interpolating references
	key   []byte    // as an object's value: its key, quoted, with the colon
	elems []argTmpl // an object's values (sorted by key) or an array's elements
	array bool
}

// compileArgs compiles a decoded JSON value found at path. Each string
// is parsed once: found gets every parsed string (its template, or the
// parse error) for the step's reference list and problems. ok is false
// when something in v is not what decoding JSON yields or a template does
// not parse (the step then renders the general way, and fails there).
func compileArgs(v any, path string, found func(s string, t *template, err error, path string)) (t argTmpl, ok bool) {
	var segs [8]pathSeg
	return compileArgsAt(v, path, segs[:0], found)
}

// pathSeg is a key or an index below a base path: compileArgsAt keeps the
// path as base and segments and makes it a string only where one is
// needed (a string holding references), in one allocation rather than one
// per level.
type pathSeg struct {
	key     string
	index   int
	isIndex bool
}

// pathString is base followed by segs as joinKey and joinIndex would
// build it.
func pathString(base string, segs []pathSeg) string {
	var b strings.Builder
	n := len(base)
	for _, g := range segs {
		n += len(g.key) + 4
	}
	b.Grow(n)
	b.WriteString(base)
	for _, g := range segs {
		switch {
		case g.isIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(g.index))
			b.WriteByte(']')
		case !plainKey(g.key):
			b.WriteByte('[')
			b.WriteString(strconv.Quote(g.key))
			b.WriteByte(']')
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(g.key)
		}
	}
	return b.String()
}

// compileArgsAt is compileArgs of v at the path base + segs.
func compileArgsAt(v any, base string, segs []pathSeg, found func(s string, t *template, err error, path string)) (t argTmpl, ok bool) {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "{{") {
			break
		}
		tm, err := parseTemplate(x)
		found(x, tm, err, pathString(base, segs))
		switch {
		case err != nil:
			return t, false
		case tm.whole != nil:
			return argTmpl{whole: tm.whole}, true
		default:
			return argTmpl{parts: tm.parts}, true
		}
	case map[string]any:
		if x == nil {
			return argTmpl{lit: []byte("{}")}, true // render makes a nil map {}
		}
		if constant(x) {
			break
		}
		var small [16]string // the keys of a small object stay off the heap
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.elems = make([]argTmpl, len(keys))
		// The quoted keys share one buffer.
		n := 0
		for _, k := range keys {
			n += len(k) + 3
		}
		buf := make([]byte, 0, n)
		ok = true
		for i, k := range keys {
			start := len(buf)
			var err error
			if buf, err = appendString(buf, k); err != nil {
				return t, false
			}
			buf = append(buf, ':')
			var eok bool
			t.elems[i], eok = compileArgsAt(x[k], base, append(segs, pathSeg{key: k}), found)
			t.elems[i].key = buf[start:len(buf):len(buf)]
			ok = ok && eok
		}
		return t, ok
	case []any:
		if constant(x) {
			break
		}
		t.array = true
		t.elems = make([]argTmpl, len(x))
		ok = true
		for i, e := range x {
			var eok bool
			t.elems[i], eok = compileArgsAt(e, base, append(segs, pathSeg{index: i, isIndex: true}), found)
			ok = ok && eok
		}
		return t, ok
	}
	b, err := appendJSON(nil, v) // json.Marshal's bytes, fewer allocations
	if err != nil {
		return t, false
	}
	return argTmpl{lit: b}, true
}

// constant reports whether v holds no {{reference}}.
func constant(v any) bool {
	switch x := v.(type) {
	case string:
		return !strings.Contains(x, "{{")
	case map[string]any:
		for _, e := range x {
			if !constant(e) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !constant(e) {
				return false
			}
		}
	}
	return true
}

// size is a first guess at the rendered length, for the buffer.
func (t *argTmpl) size() int {
	n := len(t.lit) + 16*len(t.parts)
	if t.whole != nil {
		n += 16
	}
	for i := range t.elems {
		n += t.elems[i].size() + 1
		if !t.array {
			n += len(t.elems[i].key)
		}
	}
	return n + 2
}

// render appends the rendered value to b.
func (t *argTmpl) render(b []byte, res resolver) ([]byte, error) {
	switch {
	case t.lit != nil:
		return append(b, t.lit...), nil
	case t.whole != nil:
		v, err := resolve(res, t.whole)
		if err != nil {
			return b, err
		}
		return appendJSON(b, v)
	case t.parts != nil:
		// Plain pieces (printable ASCII, nothing to escape) go straight
		// into b; otherwise the string is built and escaped as a whole
		// (escaping piece by piece could split a UTF-8 sequence).
		start := len(b)
		b = append(b, '"')
		plain := true
		for _, p := range t.parts {
			piece := p.lit
			if p.ref != nil {
				v, err := resolve(res, p.ref)
				if err != nil {
					return b[:start], err
				}
				piece = interpolate(v)
			}
			if !plainString(piece) {
				plain = false
				break
			}
			b = append(b, piece...)
		}
		if plain {
			return append(b, '"'), nil
		}
		b = b[:start]
		var s strings.Builder
		for _, p := range t.parts {
			if p.ref == nil {
				s.WriteString(p.lit)
				continue
			}
			v, err := resolve(res, p.ref)
			if err != nil {
				return b, err
			}
			s.WriteString(interpolate(v))
		}
		return appendString(b, s.String())
	case t.array:
		b = append(b, '[')
		for i := range t.elems {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = t.elems[i].render(b, res); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	b = append(b, '{')
	for i := range t.elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, t.elems[i].key...)
		var err error
		if b, err = t.elems[i].render(b, res); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendJSON appends v as json.Marshal would, without its allocations for
// the values references yield (decoded JSON: strings, json.Number, bools,
// nil, objects, arrays); anything else goes through json.Marshal.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		if plainString(x) {
			b = append(b, '"')
			b = append(b, x...)
			return append(b, '"'), nil
		}
	case json.Number:
		if validNumber(string(x)) {
			return append(b, x...), nil
		}
	case map[string]any:
		if len(x) == 0 {
			return append(b, "{}"...), nil
		}
		var small [16]string
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, k); err != nil {
				return b, err
			}
			b = append(b, ':')
			if b, err = appendJSON(b, x[k]); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	m, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, m...), nil
}

// appendString is appendJSON of a string (without boxing it in an
// interface, an allocation).
func appendString(b []byte, s string) ([]byte, error) {
	if plainString(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"'), nil
	}
	m, err := json.Marshal(s)
	if err != nil {
		return b, err
	}
	return append(b, m...), nil
}

// plainString reports whether json.Marshal writes s as is between quotes:
// printable ASCII without '"', '\\' and the HTML characters it escapes.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// validNumber reports whether s is a JSON number
// (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?).
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}
