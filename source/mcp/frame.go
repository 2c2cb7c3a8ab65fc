package mcp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
)

// MaxMessageBytes bounds one message (one line) a stdio upstream writes:
// the SDK's own limit for one stdio frame (sdk.DefaultMaxLineLength).
const MaxMessageBytes = 16 << 20

// codeTooLarge is the JSON-RPC error code of the answer weft puts in place
// of an upstream's oversized result (an implementation-defined server error).
const codeTooLarge = -32097

// The SDK's stdio connection fails the whole session when one frame
// exceeds its limit: every call in flight on it fails and the process is
// restarted, because of one oversized result. frameGuard sits between the
// process's stdout and the SDK and enforces the limit per message instead:
// a line within the limit passes unchanged; a longer one is read to its
// end without being kept (only its top-level "id" is picked out), and
// when it is an answer to one of weft's requests it is replaced by a
// JSON-RPC error answer to that request, so exactly that call fails — with
// a message saying why — and the session goes on. An oversized
// notification or request from the server is dropped and logged.
type frameGuard struct {
	r     *bufio.Reader
	c     io.Closer
	limit int
	log   *slog.Logger

	line []byte // the line being collected
	out  []byte // what Read returns next
	err  error  // the source's error, returned once out is drained

	// take, once set, is offered every whole line within the limit; a
	// line it takes (returns true for) is not passed on (rawcall.go).
	take atomic.Pointer[func(line []byte) bool]
}

func newFrameGuard(src io.ReadCloser, limit int, log *slog.Logger) *frameGuard {
	return &frameGuard{r: bufio.NewReaderSize(src, 64<<10), c: src, limit: limit, log: log}
}

// Read implements io.Reader.
func (g *frameGuard) Read(p []byte) (int, error) {
	for len(g.out) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		g.next()
	}
	n := copy(p, g.out)
	g.out = g.out[n:]
	return n, nil
}

// Close implements io.Closer.
func (g *frameGuard) Close() error { return g.c.Close() }

// next reads the next line into out (or, at the end, sets err).
func (g *frameGuard) next() {
	if cap(g.line) > 1<<20 {
		g.line = nil // do not keep a large buffer for the session's life
	}
	g.line = g.line[:0]
	for {
		chunk, err := g.r.ReadSlice('\n')
		if err == nil && len(g.line) == 0 && len(chunk) <= g.limit {
			// The common case, a whole line in the buffer: no copy. The
			// buffer is not read again before out is drained.
			if !g.taken(chunk) {
				g.out = chunk
			}
			return
		}
		g.line = append(g.line, chunk...)
		if len(g.line) > g.limit {
			g.oversized(err == nil)
			return
		}
		if err == nil {
			if !g.taken(g.line) {
				g.out = g.line
			}
			return
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			g.out, g.err = g.line, err
			return
		}
	}
}

// taken offers a whole line to take.
func (g *frameGuard) taken(line []byte) bool {
	t := g.take.Load()
	return t != nil && (*t)(line)
}

// oversized consumes the rest of a line longer than the limit (whose first
// bytes are in g.line) and puts its replacement, if any, in out.
func (g *frameGuard) oversized(ended bool) {
	var sc idScanner
	sc.feed(g.line)
	size := int64(len(g.line))
	g.line = g.line[:0]
	for !ended {
		chunk, err := g.r.ReadSlice('\n')
		sc.feed(chunk)
		size += int64(len(chunk))
		switch {
		case err == nil:
			ended = true
		case !errors.Is(err, bufio.ErrBufferFull):
			g.err = err
			ended = true
		}
	}
	if !sc.hasID || sc.hasMethod {
		g.log.Warn("upstream sent a message over the size limit; dropped", "bytes", size, "limit", g.limit)
		return
	}
	limit := fmt.Sprintf("%d bytes", g.limit)
	if g.limit >= 1<<20 {
		limit = fmt.Sprintf("%d MiB (%d bytes)", g.limit>>20, g.limit)
	}
	msg := fmt.Sprintf("the upstream's answer is %d bytes, over weft's limit of %s for one message from a stdio server; the call failed, the server stays connected",
		size, limit)
	g.log.Warn("upstream answer over the size limit; failing that call", "bytes", size, "limit", g.limit)
	b, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0",
		"id":      json.RawMessage(sc.id),
		"error":   map[string]any{"code": codeTooLarge, "message": msg},
	})
	g.out = append(b, '\n')
}

// idScanner finds, in a JSON object streamed through feed, the raw value
// of its top-level "id" member and whether it has a "method" member,
// keeping nothing else: strings, however long, are skipped byte by byte.
type idScanner struct {
	depth     int
	inStr     bool
	esc       bool
	expectKey bool // at depth 1, the next string is a member name
	inKey     bool
	key       []byte
	lastKey   string // the member whose value follows
	capturing bool   // reading the value of "id"
	id        []byte
	hasID     bool
	hasMethod bool
}

// maxIDBytes bounds a captured id; longer ones are not valid ids for weft.
const maxIDBytes = 256

func (s *idScanner) feed(b []byte) {
	for _, c := range b {
		if s.capturing {
			if s.inStr {
				s.id = append(s.id, c)
				switch {
				case s.esc:
					s.esc = false
				case c == '\\':
					s.esc = true
				case c == '"':
					s.inStr = false
				}
				continue
			}
			if c != ',' && c != '}' {
				if c == '"' {
					s.inStr = true
				}
				if len(s.id) < maxIDBytes {
					s.id = append(s.id, c)
				}
				continue
			}
			s.capturing = false
			s.id = bytes.TrimSpace(s.id)
			s.hasID = len(s.id) > 0 && json.Valid(s.id)
			// the ',' or '}' is handled below
		}
		if s.inStr {
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '"':
				s.inStr = false
				if s.inKey {
					s.inKey = false
					s.lastKey = string(s.key)
				}
				continue
			}
			if s.inKey && len(s.key) < 16 {
				s.key = append(s.key, c)
			}
			continue
		}
		switch c {
		case '"':
			s.inStr = true
			if s.depth == 1 && s.expectKey {
				s.inKey, s.expectKey, s.key = true, false, s.key[:0]
			}
		case '{', '[':
			s.depth++
			if s.depth == 1 && c == '{' {
				s.expectKey = true
			}
		case '}', ']':
			s.depth--
		case ',':
			if s.depth == 1 {
				s.expectKey = true
			}
		case ':':
			if s.depth == 1 {
				switch s.lastKey {
				case "id":
					s.capturing, s.id = true, s.id[:0]
				case "method":
					s.hasMethod = true
				}
				s.lastKey = ""
			}
		}
	}
}
