package catalog

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// fastSchema is a pre-compiled form of the simple schemas most MCP tools
// declare (typed properties, required, enums and consts, bounds, patterns,
// formats where the draft only annotates with them, arrays, nested
// objects, anyOf and allOf — "string or null" is how Python tools say
// optional —, oneOf of schemas of distinct types, and references to the
// root's $defs or definitions). It answers "valid" for a JSON document
// without decoding it into Go values, which keeps the engine's per-call
// cost to a handful of allocations. Anything it does not fully understand
// — an unsupported keyword, escaped strings, numbers beyond float64's
// exact digits — makes it abstain, and the full JSON Schema validator
// decides (and always produces the error messages).
type fastSchema struct {
	types      uint8 // bitmask of jt*; 0 = any
	props      map[string]*fastSchema
	required   []string
	additional *fastSchema // nil with noAdditional=false: anything
	noAdd      bool
	items      *fastSchema
	enum       []json.RawMessage
	min, max   *float64
	xmin, xmax *float64
	minLen     int
	maxLen     int // -1: none
	minItems   int
	maxItems   int // -1: none
	pattern    *regexp.Regexp
	// allOf, anyOf and oneOf hold for the value besides the rest of s.
	allOf, anyOf, oneOf []*fastSchema
}

const (
	jtNull uint8 = 1 << iota
	jtBool
	jtInteger
	jtNumber // includes integers
	jtString
	jtArray
	jtObject
)

var annotationKeywords = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "title": true, "description": true, "default": true,
	"examples": true, "deprecated": true, "readOnly": true, "writeOnly": true,
}

// compileFast returns nil when the schema uses anything outside the subset.
// For a schema the full validator does not compile (whose calls are not
// validated beyond being a JSON object) its verdicts do not matter.
func compileFast(raw json.RawMessage) *fastSchema {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	c := fastCompiler{root: m, refs: map[string]*fastSchema{}}
	var draft string
	if raw, ok := m["$schema"]; ok && json.Unmarshal(raw, &draft) != nil {
		return nil
	}
	// Drafts before 2019-09 assert formats; later ones (and documents
	// without $schema, compiled as 2020-12) only annotate with them.
	switch strings.TrimSuffix(draft, "#") {
	case "", "https://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2019-09/schema":
		c.formatAnnotates = true
	}
	return c.from(m, 0)
}

// fastCompiler compiles one schema document; refs memoizes the
// definitions references point to (nil while one is being compiled: a
// recursive schema is outside the subset).
type fastCompiler struct {
	root map[string]json.RawMessage
	refs map[string]*fastSchema
	// formatAnnotates is set when "format" does not validate (the
	// document's draft is 2019-09 or later).
	formatAnnotates bool
}

// ref compiles the target of a $ref: only "#/$defs/name" and
// "#/definitions/name" of the root document, name a plain one.
func (c *fastCompiler) ref(raw json.RawMessage, depth int) *fastSchema {
	var ref string
	if json.Unmarshal(raw, &ref) != nil {
		return nil
	}
	var container, name string
	for _, k := range []string{"$defs", "definitions"} {
		if rest, ok := strings.CutPrefix(ref, "#/"+k+"/"); ok {
			container, name = k, rest
		}
	}
	if container == "" || name == "" || strings.ContainsAny(name, "/~%") {
		return nil
	}
	if s, done := c.refs[ref]; done {
		return s // nil when recursive
	}
	var defs map[string]json.RawMessage
	if json.Unmarshal(c.root[container], &defs) != nil || defs[name] == nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(defs[name], &m) != nil {
		return nil
	}
	c.refs[ref] = nil
	s := c.from(m, depth+1)
	c.refs[ref] = s
	return s
}

func (c *fastCompiler) from(m map[string]json.RawMessage, depth int) *fastSchema {
	if depth > 16 {
		return nil
	}
	if r, ok := m["$ref"]; ok {
		// Siblings of $ref are ignored by draft-07 and apply since
		// 2019-09: only annotations (and the definitions) may be there.
		for k := range m {
			if k != "$ref" && k != "$defs" && k != "definitions" && !annotationKeywords[k] {
				return nil
			}
		}
		for _, k := range []string{"$id", "$schema"} {
			if _, nested := m[k]; nested && depth > 0 {
				return nil
			}
		}
		return c.ref(r, depth)
	}
	s := &fastSchema{maxLen: -1, maxItems: -1}
	var constant json.RawMessage
	num := func(r json.RawMessage) *float64 {
		var f float64
		if json.Unmarshal(r, &f) != nil {
			return nil
		}
		return &f
	}
	sub := func(r json.RawMessage) *fastSchema {
		var mm map[string]json.RawMessage
		if json.Unmarshal(r, &mm) != nil {
			return nil
		}
		return c.from(mm, depth+1)
	}
	subs := func(r json.RawMessage) []*fastSchema {
		var list []json.RawMessage
		if json.Unmarshal(r, &list) != nil || len(list) == 0 {
			return nil
		}
		out := make([]*fastSchema, len(list))
		for i, r := range list {
			if out[i] = sub(r); out[i] == nil {
				return nil
			}
		}
		return out
	}
	// scalar reports whether an enum or const value is one the fast path
	// compares as raw bytes.
	scalar := func(e json.RawMessage) bool {
		return len(e) > 0 && e[0] != '{' && e[0] != '[' && !(e[0] == '"' && bytes.IndexByte(e, '\\') >= 0)
	}
	for k, v := range m {
		ok := true
		switch k {
		case "type":
			var one string
			var many []string
			if json.Unmarshal(v, &one) == nil {
				many = []string{one}
			} else if json.Unmarshal(v, &many) != nil {
				return nil
			}
			for _, t := range many {
				switch t {
				case "null":
					s.types |= jtNull
				case "boolean":
					s.types |= jtBool
				case "integer":
					s.types |= jtInteger
				case "number":
					s.types |= jtNumber
				case "string":
					s.types |= jtString
				case "array":
					s.types |= jtArray
				case "object":
					s.types |= jtObject
				default:
					return nil
				}
			}
		case "properties":
			var props map[string]json.RawMessage
			if json.Unmarshal(v, &props) != nil {
				return nil
			}
			s.props = make(map[string]*fastSchema, len(props))
			for name, p := range props {
				if s.props[name] = sub(p); s.props[name] == nil {
					return nil
				}
			}
		case "required":
			ok = json.Unmarshal(v, &s.required) == nil && len(s.required) <= 64
		case "additionalProperties":
			var b bool
			if json.Unmarshal(v, &b) == nil {
				s.noAdd = !b
			} else {
				s.additional = sub(v)
				ok = s.additional != nil
			}
		case "items":
			s.items = sub(v)
			ok = s.items != nil
		case "enum":
			var vals []json.RawMessage
			ok = json.Unmarshal(v, &vals) == nil
			for _, e := range vals {
				if e = bytes.TrimSpace(e); !scalar(e) {
					return nil
				}
				s.enum = append(s.enum, e)
			}
			ok = ok && s.enum != nil
		case "const":
			constant = bytes.TrimSpace(v)
			ok = scalar(constant)
		case "pattern":
			var p string
			ok = json.Unmarshal(v, &p) == nil
			if ok {
				s.pattern, _ = regexp.Compile(p) // as the full validator compiles it
				ok = s.pattern != nil
			}
		case "allOf":
			s.allOf = subs(v)
			ok = s.allOf != nil
		case "anyOf":
			s.anyOf = subs(v)
			ok = s.anyOf != nil
		case "oneOf":
			s.oneOf = subs(v)
			ok = s.oneOf != nil && exclusive(s.oneOf)
		case "$defs", "definitions":
			ok = depth == 0 // compiled when referenced
		case "minimum":
			s.min = num(v)
			ok = s.min != nil
		case "maximum":
			s.max = num(v)
			ok = s.max != nil
		case "exclusiveMinimum":
			s.xmin = num(v) // draft-04's boolean form fails here: abstain
			ok = s.xmin != nil
		case "exclusiveMaximum":
			s.xmax = num(v)
			ok = s.xmax != nil
		case "minLength", "maxLength", "minItems", "maxItems":
			var n int
			ok = json.Unmarshal(v, &n) == nil && n >= 0
			switch k {
			case "minLength":
				s.minLen = n
			case "maxLength":
				s.maxLen = n
			case "minItems":
				s.minItems = n
			case "maxItems":
				s.maxItems = n
			}
		case "$id":
			ok = depth == 0 // a nested $id would move where references resolve
		case "$schema":
			ok = depth == 0 // the draft is the root's
		case "format":
			ok = c.formatAnnotates
		default:
			ok = annotationKeywords[k]
		}
		if !ok {
			return nil
		}
	}
	if constant != nil {
		if s.enum != nil {
			return nil // both: left to the full validator
		}
		s.enum = []json.RawMessage{constant}
	}
	return s
}

// exclusive reports whether no value can be valid against two of the
// schemas because each allows JSON types none of the others does: then
// "exactly one is valid" (oneOf) is "one is valid" (anyOf), which the fast
// path can decide from a valid verdict alone.
func exclusive(list []*fastSchema) bool {
	var seen uint8
	for _, s := range list {
		t := s.types
		if t&jtNumber != 0 {
			t |= jtInteger // integers are numbers
		}
		if t&jtInteger != 0 {
			t |= jtNumber
		}
		if t == 0 || seen&t != 0 {
			return false
		}
		seen |= t
	}
	return true
}

// fastVerdict is the outcome of the fast path.
type fastVerdict uint8

const (
	fastAbstain fastVerdict = iota // let the full validator decide
	fastValid
)

// check validates a complete JSON document. It parses strictly (the JSON
// grammar, as encoding/json.Valid does), so a "valid" verdict needs no
// separate syntax check; anything malformed makes it abstain and the full
// validator reports the error.
func (s *fastSchema) check(doc []byte) fastVerdict {
	v := fastValidator{b: doc}
	v.ws()
	if !v.value(s) || v.abstain {
		return fastAbstain
	}
	v.ws()
	if v.i != len(v.b) {
		return fastAbstain
	}
	return fastValid
}

// maxFastDepth bounds the nesting the fast path follows; deeper documents
// go to the full validator.
const maxFastDepth = 200

// maxFastTries bounds the subschemas of allOf, anyOf and oneOf the fast
// path tries for one document (nested combinations re-read values; a
// schema that makes that expensive goes to the full validator).
const maxFastTries = 1024

type fastValidator struct {
	b       []byte
	i       int
	depth   int
	tries   int
	abstain bool
}

func (v *fastValidator) ws() {
	for v.i < len(v.b) && (v.b[v.i] == ' ' || v.b[v.i] == '\n' || v.b[v.i] == '\t' || v.b[v.i] == '\r') {
		v.i++
	}
}

// lit consumes the literal word at v.i; false (abstain) when it is not there.
func (v *fastValidator) lit(word string) ([]byte, bool) {
	if len(v.b)-v.i < len(word) || string(v.b[v.i:v.i+len(word)]) != word {
		v.abstain = true
		return nil, false
	}
	v.i += len(word)
	return v.b[v.i-len(word) : v.i], true
}

// value validates the value at v.i against s (nil: anything) and advances
// past it. It returns false on a violation or when abstaining.
func (v *fastValidator) value(s *fastSchema) bool {
	if s != nil && (s.allOf != nil || s.anyOf != nil || s.oneOf != nil) && !v.combined(s) {
		return false
	}
	return v.own(s)
}

// combined checks the value at v.i against s's allOf, anyOf and oneOf,
// each subschema from the value's start, and leaves v.i there.
func (v *fastValidator) combined(s *fastSchema) bool {
	start, depth := v.i, v.depth
	// try reports whether the value is valid against b (abstained: the
	// fast path cannot tell).
	try := func(b *fastSchema) (valid, abstained bool) {
		if v.tries++; v.tries > maxFastTries {
			return false, true
		}
		v.i, v.depth, v.abstain = start, depth, false
		valid = v.value(b) && !v.abstain
		return valid, v.abstain
	}
	for _, b := range s.allOf {
		if valid, abstained := try(b); !valid {
			v.abstain = abstained
			return false
		}
	}
	// anyOf; oneOf only of exclusive schemas (see exclusive), the same.
	for _, list := range [2][]*fastSchema{s.anyOf, s.oneOf} {
		if list == nil {
			continue
		}
		found, unsure := false, false
		for _, b := range list {
			valid, abstained := try(b)
			if valid {
				found = true
				break
			}
			unsure = unsure || abstained
		}
		if !found {
			v.abstain = unsure
			return false
		}
	}
	v.i, v.depth, v.abstain = start, depth, false
	return true
}

// own validates the value at v.i against s without its allOf, anyOf and
// oneOf, and advances past it.
func (v *fastValidator) own(s *fastSchema) bool {
	if v.i >= len(v.b) {
		v.abstain = true
		return false
	}
	switch c := v.b[v.i]; {
	case c == '{':
		return v.object(s)
	case c == '[':
		return v.array(s)
	case c == '"':
		str, ok := v.str()
		if !ok {
			return false
		}
		if s == nil {
			return true
		}
		if !s.allows(jtString) {
			return false
		}
		if s.minLen > 0 || s.maxLen >= 0 {
			n := utf8.RuneCount(str)
			if n < s.minLen || (s.maxLen >= 0 && n > s.maxLen) {
				return false
			}
		}
		if s.pattern != nil && !s.pattern.Match(str) {
			return false
		}
		return s.enumHas(v.b[v.i-len(str)-2 : v.i])
	case c == 't' || c == 'f':
		word := "true"
		if c == 'f' {
			word = "false"
		}
		lit, ok := v.lit(word)
		return ok && (s == nil || (s.allows(jtBool) && s.enumHas(lit)))
	case c == 'n':
		lit, ok := v.lit("null")
		return ok && (s == nil || (s.allows(jtNull) && s.enumHas(lit)))
	case c == '-' || (c >= '0' && c <= '9'):
		return v.number(s)
	default:
		v.abstain = true
		return false
	}
}

func (s *fastSchema) allows(t uint8) bool {
	if s.types == 0 || s.types&t != 0 {
		return true
	}
	return false
}

func (s *fastSchema) enumHas(lit []byte) bool {
	if s == nil || s.enum == nil {
		return true
	}
	for _, e := range s.enum {
		if bytes.Equal(e, lit) {
			return true
		}
	}
	return false
}

// str scans a string and returns its raw contents; strings with escapes
// make the validator abstain (their length and enum checks need decoding),
// as do control characters (invalid JSON) and an unterminated string.
func (v *fastValidator) str() ([]byte, bool) {
	start := v.i + 1
	for j := start; j < len(v.b); j++ {
		switch c := v.b[j]; {
		case c == '"':
			v.i = j + 1
			return v.b[start:j], true
		case c == '\\' || c < 0x20:
			v.abstain = true
			return nil, false
		}
	}
	v.abstain = true
	return nil, false
}

// digits consumes one or more decimal digits; false when there is none.
func (v *fastValidator) digits() bool {
	start := v.i
	for v.i < len(v.b) && v.b[v.i] >= '0' && v.b[v.i] <= '9' {
		v.i++
	}
	return v.i > start
}

// number scans a number by the JSON grammar
// (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?) and checks it against s.
func (v *fastValidator) number(s *fastSchema) bool {
	start := v.i
	isInt := true
	if v.b[v.i] == '-' {
		v.i++
	}
	if v.i < len(v.b) && v.b[v.i] == '0' {
		v.i++
	} else if !v.digits() {
		v.abstain = true
		return false
	}
	if v.i < len(v.b) && v.b[v.i] == '.' {
		v.i++
		isInt = false
		if !v.digits() {
			v.abstain = true
			return false
		}
	}
	if v.i < len(v.b) && (v.b[v.i] == 'e' || v.b[v.i] == 'E') {
		v.i++
		isInt = false
		if v.i < len(v.b) && (v.b[v.i] == '+' || v.b[v.i] == '-') {
			v.i++
		}
		if !v.digits() {
			v.abstain = true
			return false
		}
	}
	if s == nil {
		return true
	}
	lit := v.b[start:v.i]
	if len(lit) > 15 {
		// Beyond float64's exact digits: integer-ness and bounds need the
		// exact decimal the full validator compares.
		v.abstain = true
		return false
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(lit), len(lit)), 64)
	if err != nil || math.IsInf(f, 0) {
		v.abstain = true
		return false
	}
	if !isInt && f == math.Trunc(f) {
		isInt = true
	}
	if s.types != 0 && s.types&jtNumber == 0 && !(isInt && s.types&jtInteger != 0) {
		return false
	}
	if s.enum != nil {
		v.abstain = true // numeric enum equality (1 vs 1.0) is left to the full validator
		return false
	}
	return (s.min == nil || f >= *s.min) && (s.max == nil || f <= *s.max) &&
		(s.xmin == nil || f > *s.xmin) && (s.xmax == nil || f < *s.xmax)
}

// next skips white space and consumes c; false (abstain) when c is not there.
func (v *fastValidator) next(c byte) bool {
	v.ws()
	if v.i >= len(v.b) || v.b[v.i] != c {
		v.abstain = true
		return false
	}
	v.i++
	return true
}

// peek skips white space and reports whether c comes next.
func (v *fastValidator) peek(c byte) bool {
	v.ws()
	return v.i < len(v.b) && v.b[v.i] == c
}

func (v *fastValidator) object(s *fastSchema) bool {
	if s != nil && (!s.allows(jtObject) || s.enum != nil) {
		if s.enum != nil {
			v.abstain = true
		}
		return false
	}
	if v.depth++; v.depth > maxFastDepth {
		v.abstain = true
		return false
	}
	v.i++ // {
	var seen uint64
	if v.peek('}') {
		v.i++
	} else {
		for {
			if !v.peek('"') {
				v.abstain = true
				return false
			}
			key, ok := v.str()
			if !ok || !v.next(':') {
				return false
			}
			v.ws()
			var child *fastSchema
			if s != nil {
				if p, ok := s.props[unsafe.String(unsafe.SliceData(key), len(key))]; ok {
					child = p
				} else if s.noAdd {
					return false
				} else {
					child = s.additional
				}
				for idx, r := range s.required {
					if r == unsafe.String(unsafe.SliceData(key), len(key)) {
						seen |= 1 << idx
					}
				}
			}
			if !v.value(child) {
				return false
			}
			if v.peek(',') {
				v.i++
				continue
			}
			if !v.next('}') {
				return false
			}
			break
		}
	}
	v.depth--
	return s == nil || seen == (uint64(1)<<len(s.required))-1
}

func (v *fastValidator) array(s *fastSchema) bool {
	if s != nil && (!s.allows(jtArray) || s.enum != nil) {
		if s.enum != nil {
			v.abstain = true
		}
		return false
	}
	if v.depth++; v.depth > maxFastDepth {
		v.abstain = true
		return false
	}
	v.i++ // [
	n := 0
	var item *fastSchema
	if s != nil {
		item = s.items
	}
	if v.peek(']') {
		v.i++
	} else {
		for {
			v.ws()
			if !v.value(item) {
				return false
			}
			n++
			if v.peek(',') {
				v.i++
				continue
			}
			if !v.next(']') {
				return false
			}
			break
		}
	}
	v.depth--
	return s == nil || (n >= s.minItems && (s.maxItems < 0 || n <= s.maxItems))
}
