package mcpgw_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// stdioPeer is weft mcp as a subprocess, spoken to line by line.
type stdioPeer struct {
	t     *testing.T
	in    io.WriteCloser
	lines chan string
}

func startStdio(t *testing.T) *stdioPeer {
	t.Helper()
	cmd := exec.Command(weftBin(t), "mcp", "-c", emptyConfig(t))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &stdioPeer{t: t, in: in, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		in.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return p
}

func (p *stdioPeer) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		p.t.Fatalf("writing to weft mcp (%d bytes): %v", len(line), err)
	}
}

// next returns the next message weft wrote, failing if it exited.
func (p *stdioPeer) next() map[string]any {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.t.Fatal("weft mcp closed stdout: the session ended")
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			p.t.Fatalf("weft mcp wrote %q: %v", l, err)
		}
		return m
	case <-time.After(60 * time.Second):
		p.t.Fatal("no answer from weft mcp")
	}
	return nil
}

// TestStdioSurvivesBadLines: weft mcp answers a bad client line with a
// JSON-RPC parse error (or drops it, logged, when it has no id) and keeps
// serving: non-JSON, 9,000-deep nesting, a line over 16 MiB.
func TestStdioSurvivesBadLines(t *testing.T) {
	p := startStdio(t)
	p.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	if m := p.next(); m["id"] != float64(1) || m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}
	p.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	deep := strings.Repeat("[", 9000) + strings.Repeat("]", 9000)
	huge := strings.Repeat("x", 17<<20)
	bad := []struct {
		line   string
		id     float64 // 0: no answer expected (no id to answer)
		reason string
	}{
		{"this is not JSON", 0, ""},
		{`{"jsonrpc":"2.0","id":2,"method":"tools/list","params":` + deep + `}`, 2, "nested deeper"},
		{`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x","arguments":{"s":"` + huge + `"}}}`, 3, "longer than"},
		{`{"jsonrpc":"2.0","id":4,"method":"tools/list",`, 4, "invalid JSON-RPC message"},
		{huge, 0, ""},
	}
	for i, b := range bad {
		p.send(b.line)
		// A valid request after each bad line must be answered.
		id := float64(100 + i)
		p.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list"}`, int(id)))
		m := p.next()
		if b.id != 0 {
			e, _ := m["error"].(map[string]any)
			if m["id"] != b.id || e == nil || e["code"] != float64(-32700) || !strings.Contains(fmt.Sprint(e["message"]), b.reason) {
				t.Fatalf("bad line %d: answer %v, want a parse error for id %v mentioning %q", i, m, b.id, b.reason)
			}
			m = p.next()
		}
		if m["id"] != id || m["result"] == nil {
			t.Fatalf("after bad line %d: %v, want the tools/list result for id %v", i, m, id)
		}
	}
}
