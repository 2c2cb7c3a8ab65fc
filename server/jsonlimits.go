package server

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/weft-dev/weft/internal/clip"
)

// jsonProblem scans a JSON document (without decoding it) for what
// encoding/json would not report, or not say where: nesting deeper than
// maxDepth, a string longer than maxString bytes, bytes that are not UTF-8
// (the decoder would replace them silently), a number beyond the range of
// a float64 (the decoder says only "cannot unmarshal number"). It returns
// the first problem with its position and its problem code
// ("limit_exceeded" for depth and length, "invalid_json" for the others),
// or "" twice. Malformed JSON is left to the decoder that reads the body
// next.
func jsonProblem(b []byte, maxDepth, maxString int) (code, msg string) {
	if !utf8.Valid(b) {
		off := invalidUTF8(b)
		return "invalid_json", fmt.Sprintf("body is not valid UTF-8: byte 0x%02x at %s", b[off], position(b, off))
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '{' || c == '[':
			depth++
			if maxDepth > 0 && depth > maxDepth {
				return "limit_exceeded", fmt.Sprintf("JSON nesting deeper than %d levels at %s", maxDepth, position(b, i))
			}
		case c == '}' || c == ']':
			depth--
		case c == '"':
			start := i
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if maxString > 0 && i-start-1 > maxString {
				return "limit_exceeded", fmt.Sprintf("JSON string longer than %d bytes at %s", maxString, position(b, start))
			}
		case c == '-' || (c >= '0' && c <= '9'):
			start := i
			for i+1 < len(b) && bytes.IndexByte([]byte("0123456789+-.eE"), b[i+1]) >= 0 {
				i++
			}
			lit := b[start : i+1]
			if f, err := strconv.ParseFloat(string(lit), 64); err != nil && math.IsInf(f, 0) {
				return "invalid_json", fmt.Sprintf("number %s out of range (beyond ±%g) at %s", clip.N(string(lit), 32), math.MaxFloat64, position(b, start))
			}
		}
	}
	return "", ""
}

// invalidUTF8 returns the offset of the first byte of b that is not part of
// a valid UTF-8 sequence.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// position describes byte offset off of b as "line L, column C (byte off)",
// lines and columns counted from 1, columns in bytes.
func position(b []byte, off int) string {
	off = min(max(off, 0), len(b))
	line := 1 + bytes.Count(b[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(b[:off], '\n')
	return fmt.Sprintf("line %d, column %d (byte %d)", line, col, off)
}
