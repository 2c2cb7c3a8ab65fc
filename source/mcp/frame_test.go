package mcp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/source"
)

func TestIDScanner(t *testing.T) {
	for _, tc := range []struct {
		in     string
		id     string
		method bool
	}{
		{`{"result":{"content":[{"type":"text","text":"a,\"id\":9}"}]},"jsonrpc":"2.0","id":42}`, `42`, false},
		{`{"jsonrpc":"2.0","id":"req-1","result":{"id":7,"x":[1,{"id":8}]}}`, `"req-1"`, false},
		{`{"jsonrpc":"2.0","id" : "a,}b" ,"error":{"code":1,"message":"m"}}`, `"a,}b"`, false},
		{`{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"x"}}`, ``, true},
		{`{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","params":{}}`, `3`, true},
	} {
		var s idScanner
		for _, c := range []byte(tc.in) { // byte by byte: state survives chunk borders
			s.feed([]byte{c})
		}
		if got := string(s.id); s.hasID != (tc.id != "") || (s.hasID && got != tc.id) || s.hasMethod != tc.method {
			t.Errorf("%s: id %q (has %v), method %v; want %q, %v", tc.in, got, s.hasID, s.hasMethod, tc.id, tc.method)
		}
	}
}

func TestFrameGuard(t *testing.T) {
	huge := `{"result":{"content":[{"type":"text","text":"` + strings.Repeat("x", 300) + `"}]},"jsonrpc":"2.0","id":5}`
	note := `{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"` + strings.Repeat("y", 300) + `"}}`
	in := `{"jsonrpc":"2.0","id":1,"result":{}}` + "\n" + huge + "\n" + note + "\n" + `{"jsonrpc":"2.0","id":2,"result":{}}` + "\n"
	g := newFrameGuard(io.NopCloser(strings.NewReader(in)), 100, slog.New(slog.DiscardHandler))
	out, err := io.ReadAll(g)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 3 || lines[0] != `{"jsonrpc":"2.0","id":1,"result":{}}` || lines[2] != `{"jsonrpc":"2.0","id":2,"result":{}}` ||
		!strings.HasPrefix(lines[1], `{"error":{"code":-32097,"message":"the upstream's answer is 374 bytes, over weft's limit of 100 bytes for one message`) ||
		!strings.HasSuffix(lines[1], `"id":5,"jsonrpc":"2.0"}`) {
		t.Fatalf("guarded stream:\n%s", bytes.Join([][]byte{out}, nil))
	}
}

// TestStdioOversizedResult: a result over the 16 MiB message limit fails
// that call with a clear error; the session, the process and the calls in
// flight on it are not affected.
func TestStdioOversizedResult(t *testing.T) {
	cfg, marker := stdioConfig(t, "big")
	u, _ := start(t, cfg)
	pid := u.Health().PID
	inflight := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r, err := u.Call(ctx, "await_go", nil)
		if err == nil && r.Text() != "went" {
			err = errors.New("await_go = " + r.Text())
		}
		inflight <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // 16 MB of JSON is slow under -race
	defer cancel()
	_, err := u.Call(ctx, "big", []byte(`{"size":17000000}`))
	if !errors.Is(err, source.ErrTooLarge) || !strings.Contains(err.Error(), "over weft's limit of 16 MiB (16777216 bytes)") {
		t.Fatalf("big: err = %v, want ErrTooLarge with the limit", err)
	}
	if err := os.WriteFile(marker, []byte("go"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-inflight; err != nil {
		t.Fatalf("call in flight during the oversized answer: %v", err)
	}
	// Its own deadline: on a loaded machine under -race the first big
	// answer alone has taken most of a minute.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel2()
	if r, err := u.Call(ctx2, "big", []byte(`{"size":16000000}`)); err != nil || len(r.Text()) != 16000000 {
		t.Fatalf("a result under the limit: %v", err)
	}
	if got := mustText(t, u, "echo", `{"message":"still"}`); got != "echo: still" {
		t.Fatalf("echo = %q", got)
	}
	if h := u.Health(); h.State != source.StateReady || h.PID != pid || h.Restarts != 0 {
		t.Fatalf("health = %+v; want the same session (pid %d)", h, pid)
	}
}
