package sandbox

import (
	"fmt"
	"unicode/utf8"
)

// scanSource is the cheap pre-scan every program passes before a parser
// sees it. The parsers (esbuild's, QuickJS's) recurse once per level of
// nesting without a depth limit, and 100,000 levels exhaust the Go stack,
// which kills the process; far fewer already take seconds. So the scan
// measures nesting approximately — brackets, template substitutions, and
// chains that nest without brackets (arrow functions, prefix operators,
// conditional and assignment chains, if/for/while/else bodies) — and
// rejects a program deeper than maxDepth, naming the line and column.
//
// It also checks that the program, which becomes the body of a function,
// never closes more brackets than it opened: `return 1 }); evil(); (…` is
// rejected instead of closing the wrapper early.
//
// The scan honours strings, comments, template literals and regular
// expression literals (told from division by the previous token, as
// JavaScript tokenizers do); where it guesses wrong it errs towards a
// deeper count or a parser error, never towards running the program.
func scanSource(code string, maxDepth int) *RunError {
	s := scanner{src: code, line: 1, col: 1, max: maxDepth, regexOK: true}
	s.stack = append(s.stack, frame{})
	return s.run()
}

type frame struct {
	open    byte // '(', '[', '{', or '$' for a template substitution; 0 for the root
	chain   int  // nesting without brackets at this level
	control bool // '(' of an if/for/while/with header
	block   bool // '{' of a block (not an object literal)
}

type scanner struct {
	src       string
	i         int
	line, col int
	max       int
	stack     []frame
	chains    int // sum of the chains on the stack
	// regexOK: a '/' here starts a regular expression (an operand is expected).
	regexOK bool
	// endsExpr: the last token can end an expression, so a newline may end
	// the statement (automatic semicolon insertion).
	endsExpr bool
	// last is the previous token: a punctuator or bracket as written, an
	// identifier or keyword, "v" for another value (string, number, regex,
	// template), "" at the start.
	last string
}

func (s *scanner) errAt(line, col int, format string, args ...any) *RunError {
	msg := fmt.Sprintf(format, args...)
	return &RunError{Kind: KindSyntax, Line: line, Column: col,
		Message: fmt.Sprintf("%s (line %d, column %d)", msg, line, col)}
}

func (s *scanner) depth() int { return len(s.stack) - 1 + s.chains }

func (s *scanner) tooDeep(line, col int) *RunError {
	e := s.errAt(line, col, "the program nests more than %d levels deep (brackets, arrow functions, operator and statement chains); flatten it", s.max)
	e.Kind = KindSourceLimit
	return e
}

// advance moves past n bytes on the current line.
func (s *scanner) advance(n int) {
	for k := 0; k < n && s.i < len(s.src); {
		_, w := utf8.DecodeRuneInString(s.src[s.i:])
		s.i += w
		k += w
		s.col++
	}
}

func (s *scanner) newline() {
	s.i++
	s.line++
	s.col = 1
}

func (s *scanner) chain(line, col int) *RunError {
	s.stack[len(s.stack)-1].chain++
	s.chains++
	if s.depth() > s.max {
		return s.tooDeep(line, col)
	}
	return nil
}

func (s *scanner) resetChain() {
	top := &s.stack[len(s.stack)-1]
	s.chains -= top.chain
	top.chain = 0
}

func (s *scanner) push(f frame, line, col int) *RunError {
	s.stack = append(s.stack, f)
	if s.depth() > s.max {
		return s.tooDeep(line, col)
	}
	return nil
}

// keywords after which an operand (so a regular expression) follows.
var operandKeywords = map[string]bool{
	"return": true, "typeof": true, "instanceof": true, "in": true, "of": true, "new": true,
	"delete": true, "void": true, "throw": true, "case": true, "do": true, "else": true,
	"yield": true, "await": true, "extends": true,
}

// prefixKeywords nest their operand (typeof typeof typeof …).
var prefixKeywords = map[string]bool{"typeof": true, "void": true, "delete": true, "await": true, "new": true, "yield": true}

// statementKeywords nest the statement that follows them (if (a) if (b) …).
var statementKeywords = map[string]bool{"if": true, "for": true, "while": true, "with": true, "else": true, "do": true}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c == '\\' || c >= 0x80 ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (s *scanner) run() *RunError {
	src := s.src
	for s.i < len(src) {
		c := src[s.i]
		line, col := s.line, s.col
		switch {
		case c == '\n':
			if s.endsExpr {
				s.resetChain()
			}
			s.newline()
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			s.i++
			s.col++
			continue
		case c == '/' && s.i+1 < len(src) && src[s.i+1] == '/':
			for s.i < len(src) && src[s.i] != '\n' {
				s.advance(1)
			}
			continue
		case c == '/' && s.i+1 < len(src) && src[s.i+1] == '*':
			s.advance(2)
			for s.i < len(src) && !(src[s.i] == '*' && s.i+1 < len(src) && src[s.i+1] == '/') {
				if src[s.i] == '\n' {
					s.newline()
				} else {
					s.advance(1)
				}
			}
			s.advance(2)
			continue
		}
		switch {
		case c == '\'' || c == '"':
			s.skipString(c)
			s.regexOK, s.endsExpr, s.last = false, true, "v"
		case c == '`':
			s.advance(1)
			if err := s.skipTemplate(); err != nil {
				return err
			}
			s.last = "v"
		case c == '/' && s.regexOK:
			s.skipRegex()
			s.regexOK, s.endsExpr, s.last = false, true, "v"
		case c >= '0' && c <= '9' || (c == '.' && s.i+1 < len(src) && src[s.i+1] >= '0' && src[s.i+1] <= '9'):
			for s.i < len(src) && (isIdentByte(src[s.i]) || src[s.i] == '.') {
				s.advance(1)
			}
			s.regexOK, s.endsExpr, s.last = false, true, "v"
		case isIdentByte(c):
			start := s.i
			for s.i < len(src) && isIdentByte(src[s.i]) {
				if src[s.i] == '\\' {
					s.advance(1)
				}
				s.advance(1)
			}
			word := src[start:s.i]
			if s.last == "." || s.last == "?." {
				// A property name (x.return, a.in): never a keyword.
				s.last, s.regexOK, s.endsExpr = "v", false, true
				continue
			}
			s.last = word
			s.regexOK = operandKeywords[word]
			s.endsExpr = !s.regexOK
			if prefixKeywords[word] || statementKeywords[word] {
				if err := s.chain(line, col); err != nil {
					return err
				}
			}
		default:
			if err := s.punctuator(line, col); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *scanner) punctuator(line, col int) *RunError {
	src := s.src
	c := src[s.i]
	prev, prevRegexOK := s.last, s.regexOK
	s.last = string(c)
	switch c {
	case '(', '[', '{':
		f := frame{open: c}
		switch {
		case c == '(':
			f.control = prev == "if" || prev == "for" || prev == "while" || prev == "with"
		case c == '{':
			f.block = blockBefore(prev)
		}
		s.advance(1)
		s.regexOK, s.endsExpr = true, false
		return s.push(f, line, col)
	case ')', ']', '}':
		if len(s.stack) == 1 {
			return s.errAt(line, col, "unexpected %q: the program is the body of a function and cannot close more brackets than it opens", string(c))
		}
		top := s.stack[len(s.stack)-1]
		s.resetChain()
		s.stack = s.stack[:len(s.stack)-1]
		s.advance(1)
		if top.open == '$' {
			if c != '}' {
				return s.errAt(line, col, "unexpected %q inside a template substitution", string(c))
			}
			return s.skipTemplate()
		}
		switch c {
		case ')':
			s.regexOK, s.endsExpr = top.control, !top.control
		case ']':
			s.regexOK, s.endsExpr = false, true
		case '}':
			s.regexOK, s.endsExpr = top.block, true
		}
		return nil
	case ',', ';':
		s.resetChain()
		s.advance(1)
		s.regexOK, s.endsExpr = true, false
		return nil
	}
	// Longest punctuator from the table.
	op := ""
	for _, p := range punctuators {
		if len(p) <= len(src)-s.i && src[s.i:s.i+len(p)] == p {
			op = p
			break
		}
	}
	if op == "" {
		op = src[s.i : s.i+1]
	}
	s.advance(len(op))
	s.last = op
	nest := false
	switch op {
	case "=>", "?", "**", "=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", ">>>=", "&=", "|=", "^=", "&&=", "||=", "??=":
		nest = true
	case "!", "~":
		nest = true
	case "+", "-", "++", "--":
		nest = prevRegexOK // a prefix operator where an operand is expected
	}
	switch op {
	case "++", "--":
		s.regexOK, s.endsExpr = prevRegexOK, !prevRegexOK
	default:
		s.regexOK, s.endsExpr = true, false
	}
	if nest {
		return s.chain(line, col)
	}
	return nil
}

// punctuators longest first, so the first match is the longest.
var punctuators = []string{
	">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=",
	"=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=",
	"&=", "|=", "^=", "<<", ">>", "**",
}

// blockBefore reports whether a '{' after the token prev opens a block
// (statement position, function body) rather than an object literal.
func blockBefore(prev string) bool {
	switch prev {
	case "", ";", "{", "}", ")", "=>", "else", "do", "try", "finally":
		return true
	case "v":
		return false
	}
	c := prev[0]
	return isIdentByte(c) && !operandKeywords[prev] // class Name {, a getter's name, …
}

func (s *scanner) skipString(q byte) {
	s.advance(1)
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == q:
			s.advance(1)
			return
		case c == '\\':
			s.advance(1)
			if s.i < len(s.src) && s.src[s.i] == '\n' {
				s.newline()
				continue
			}
			s.advance(1)
		case c == '\n':
			return // unterminated: the parser reports it
		default:
			s.advance(1)
		}
	}
}

// skipTemplate scans template text after a backquote or a substitution's
// closing brace, up to the closing backquote or the next "${".
func (s *scanner) skipTemplate() *RunError {
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '`':
			s.advance(1)
			s.regexOK, s.endsExpr = false, true
			return nil
		case c == '\\':
			s.advance(1)
			if s.i < len(s.src) && s.src[s.i] == '\n' {
				s.newline()
				continue
			}
			s.advance(1)
		case c == '$' && s.i+1 < len(s.src) && s.src[s.i+1] == '{':
			line, col := s.line, s.col
			s.advance(2)
			s.regexOK, s.endsExpr = true, false
			return s.push(frame{open: '$'}, line, col)
		case c == '\n':
			s.newline()
		default:
			s.advance(1)
		}
	}
	return nil
}

func (s *scanner) skipRegex() {
	s.advance(1)
	inClass := false
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\n':
			return
		case c == '\\':
			s.advance(2)
			continue
		case c == '[':
			inClass = true
		case c == ']':
			inClass = false
		case c == '/' && !inClass:
			s.advance(1)
			for s.i < len(s.src) && isIdentByte(s.src[s.i]) {
				s.advance(1)
			}
			return
		}
		s.advance(1)
	}
}
