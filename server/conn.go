package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
)

// problemListener hands out connections whose net/http-generated error
// responses are problems. net/http answers requests it cannot parse —
// headers over its limit (431), a malformed request line, header or
// Content-Length (400), an unknown transfer encoding (501) — itself,
// before any handler runs, in text/plain; the connection rewrites exactly
// those responses.
type problemListener struct{ net.Listener }

// Accept implements net.Listener.
func (l problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &problemConn{Conn: c}, nil
}

// problemConn is a connection of problemListener.
type problemConn struct{ net.Conn }

// plainErrorHeaders is what net/http writes after the status line of the
// errors it answers without a handler (net/http server.go, conn.serve).
// Handler responses always carry a Date header, so they never start so.
const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// Write implements net.Conn.
func (c *problemConn) Write(b []byte) (int, error) {
	if len(b) > 12 && (bytes.HasPrefix(b, []byte("HTTP/1.1 4")) || bytes.HasPrefix(b, []byte("HTTP/1.1 5"))) {
		if i := bytes.Index(b, []byte(plainErrorHeaders)); i > 0 && bytes.IndexByte(b[:i], '\n') < 0 {
			if _, err := c.Conn.Write(problemResponse(b[9:12], b[i+len(plainErrorHeaders):])); err != nil {
				return 0, err
			}
			return len(b), nil
		}
	}
	return c.Conn.Write(b)
}

// CloseWrite half-closes the connection when it can (net/http uses it
// before closing after an error).
func (c *problemConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// problemResponse is the whole HTTP response for status code (3 digits) with
// net/http's error text as detail.
func problemResponse(code, text []byte) []byte {
	status, err := strconv.Atoi(string(code))
	if err != nil || http.StatusText(status) == "" {
		status = http.StatusBadRequest
	}
	detail := string(text)
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		detail = "request headers are too large"
	case http.StatusBadRequest:
		if detail == "400 Bad Request" {
			detail = "malformed request: the request line, a header or Content-Length cannot be parsed"
		}
	}
	body, _ := json.Marshal(Problem{Type: problemBase + statusCode(status), Title: http.StatusText(status), Status: status, Code: statusCode(status), Detail: detail})
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
}
