package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/source"
)

// TestRawCallMatchesSDK calls the same tools on a stdio upstream over the
// raw path (what Call uses) and over the SDK's CallTool + convertResult,
// and requires the same results; and that Call really took the raw path.
func TestRawCallMatchesSDK(t *testing.T) {
	cfg, _ := stdioConfig(t, "normal")
	u, _ := start(t, cfg)
	s, err := u.current("test")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.rawCallable(); !ok {
		t.Fatalf("stdio session on protocol %q does not take the raw path", s.cs.InitializeResult().ProtocolVersion)
	}
	before, takenBefore := s.raw.next.Load(), s.raw.taken.Load()
	n := sameAsSDK(t, u, s)
	if got := s.raw.next.Load() - before; got != n {
		t.Fatalf("raw calls = %d, want %d", got, n)
	}
	// Their answers were decoded by the frame guard's hook, not the SDK.
	if got := s.raw.taken.Load() - takenBefore; got != n {
		t.Fatalf("answers taken from the stdio stream = %d, want %d", got, n)
	}
	// The same errors as before: an unknown tool, and an upstream that
	// closed mid-call is unavailable.
	if _, err := call(t, u, "nope", `{}`); !errors.Is(err, source.ErrUnknownTool) {
		t.Fatalf("unknown tool: %v", err)
	}
}

// sameAsSDK calls a few tools of the test servers (main_test.go) through
// Call (the raw path) and through the SDK's CallTool + convertResult on
// session s, requires the same results, and returns how many calls Call made.
func sameAsSDK(t *testing.T, u *Upstream, s *session) uint64 {
	t.Helper()
	cases := []struct{ tool, args string }{
		{"echo", `{"message":"hi \"there\" <&> \u2028"}`},
		{"add", `{"a":2,"b":40}`},
		{"fail", `{}`},
		{"fail", ``},
	}
	for _, c := range cases {
		raw, err := call(t, u, c.tool, c.args)
		if err != nil {
			t.Fatalf("%s raw: %v", c.tool, err)
		}
		p := &sdk.CallToolParams{Name: c.tool}
		if c.args != "" {
			p.Arguments = json.RawMessage(c.args)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := s.cs.CallTool(ctx, p)
		cancel()
		if err != nil {
			t.Fatalf("%s sdk: %v", c.tool, err)
		}
		viaSDK, err := convertResult(res)
		if err != nil {
			t.Fatal(err)
		}
		if !sameResult(t, raw, viaSDK) {
			t.Fatalf("%s: raw path %s, SDK path %s", c.tool, dump(raw), dump(viaSDK))
		}
	}
	return uint64(len(cases))
}

// TestRawConnClosedFailsPending: a call in flight when the connection
// closes fails at once, and later calls fail too.
func TestRawConnClosedFailsPending(t *testing.T) {
	cfg, marker := stdioConfig(t, "hang")
	u, _ := start(t, cfg)
	s, err := u.current("test")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.raw.call(context.Background(), "tools/call", json.RawMessage(`{"name":"hang","arguments":{}}`))
		done <- err
	}()
	readMarker(t, marker+".started", 5*time.Second)
	s.raw.Close()
	select {
	case err := <-done:
		if !errors.Is(err, sdk.ErrConnectionClosed) {
			t.Fatalf("pending call: err = %v, want ErrConnectionClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending call did not fail when the connection closed")
	}
	if _, err := s.raw.call(context.Background(), "tools/call", json.RawMessage(`{}`)); !errors.Is(err, sdk.ErrConnectionClosed) {
		t.Fatalf("call after close: err = %v", err)
	}
}

func TestRawResult(t *testing.T) {
	r, err := rawResult(json.RawMessage(`{"content":[{"type":"text","text":"a","x":1},{"type":"image","data":"AA==","mimeType":"image/png"}],"structuredContent":{"b":1,"a":2},"isError":true,"_meta":{"k":"v"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !r.IsError || len(r.Content) != 2 || string(r.Content[0]) != `{"type":"text","text":"a","x":1}` ||
		string(r.StructuredContent) != `{"b":1,"a":2}` || string(r.Meta) != `{"k":"v"}` {
		t.Fatalf("result = %s", dump(r))
	}
	r, err = rawResult(json.RawMessage(`{"content":[],"structuredContent":null,"_meta":{}}`))
	if err != nil || r.StructuredContent != nil || r.Meta != nil || len(r.Content) != 0 {
		t.Fatalf("empty result = %s, %v", dump(r), err)
	}
	for in, want := range map[string]string{
		`[]`:                               "result",
		`{"content":[null]}`:               "content block 0 is null",
		`{"content":[{"type":"video"}]}`:   `unrecognized content type "video"`,
		`{"content":[{"text":"no type"}]}`: `unrecognized content type ""`,
		`{"content":[1]}`:                  "content block 0",
		`{"content":[{"type":"text"}],"_meta":[1]}`: "_meta: not an object",
		`{"content":{}}`: "result",
	} {
		if _, err := rawResult(json.RawMessage(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("rawResult(%s) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestCallToolParams(t *testing.T) {
	for _, c := range []struct {
		p      *sdk.CallToolParams
		triple []byte
		want   string
	}{
		{&sdk.CallToolParams{Name: "a\"b"}, nil, `{"name":"a\"b","arguments":{}}`},
		{&sdk.CallToolParams{Name: "x", Arguments: json.RawMessage(`{"k":[1,2]}`)}, nil, `{"name":"x","arguments":{"k":[1,2]}}`},
		{&sdk.CallToolParams{Name: "x", Meta: sdk.Meta{"progressToken": "t1"}}, nil, `{"name":"x","arguments":{},"_meta":{"progressToken":"t1"}}`},
		{&sdk.CallToolParams{Name: "x"}, []byte(`"p":"v"`), `{"name":"x","arguments":{},"_meta":{"p":"v"}}`},
		{&sdk.CallToolParams{Name: "x", Meta: sdk.Meta{"progressToken": 7}}, []byte(`"p":"v","c":{}`), `{"name":"x","arguments":{},"_meta":{"p":"v","c":{},"progressToken":7}}`},
	} {
		b, err := callToolParams(c.p, c.triple)
		if err != nil || string(b) != c.want {
			t.Errorf("callToolParams(%+v) = %s, %v; want %s", c.p, b, err, c.want)
		}
		if !json.Valid(b) {
			t.Errorf("invalid JSON %s", b)
		}
	}
}

// sameResult compares two results member by member, JSON values by value.
func sameResult(t *testing.T, a, b *source.Result) bool {
	t.Helper()
	if a.IsError != b.IsError || len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !jsonEqual(t, a.Content[i], b.Content[i]) {
			return false
		}
	}
	return jsonEqual(t, a.StructuredContent, b.StructuredContent) && jsonEqual(t, a.Meta, b.Meta)
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func dump(r *source.Result) string {
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(r)
	return b.String()
}

func TestDecodeRawAnswer(t *testing.T) {
	r, ok := decodeRawAnswer([]byte(`{"jsonrpc":"2.0","id":"weft-7","result":{"content":[]}}` + "\n"))
	if !ok || r.ID.Raw() != "weft-7" || string(r.Result) != `{"content":[]}` || r.Error != nil {
		t.Fatalf("result answer = %+v, %v", r, ok)
	}
	r, ok = decodeRawAnswer([]byte(`{"jsonrpc":"2.0","id":"weft-8","error":{"code":-32602,"message":"unknown tool \"x\""}}`))
	var we *jsonrpc.Error
	if !ok || !errors.As(r.Error, &we) || we.Code != -32602 || we.Message != `unknown tool "x"` {
		t.Fatalf("error answer = %+v, %v", r, ok)
	}
	// Anything the SDK might read differently is left to the SDK.
	for _, in := range []string{
		`{"jsonrpc":"2.0","id":"weft-1","result":{},"method":"x"}`,
		`{"jsonrpc":"2.0","id":"weft-1","result":{},"extra":1}`,
		`{"JSONRPC":"2.0","id":"weft-1","result":{}}`,
		`{"jsonrpc":"1.0","id":"weft-1","result":{}}`,
		`{"id":"weft-1","result":{}}`,
		`{"jsonrpc":"2.0","id":7,"result":{}}`,
		`{"jsonrpc":"2.0","id":"other-1","result":{}}`,
		`{"jsonrpc":"2.0","id":"weft-1","error":"boom"}`,
		`{"jsonrpc":"2.0","id":"weft-1","result":{}} {"jsonrpc":"2.0","id":"weft-2","result":{}}`,
		`[{"jsonrpc":"2.0","id":"weft-1","result":{}}]`,
	} {
		if r, ok := decodeRawAnswer([]byte(in)); ok {
			t.Errorf("decodeRawAnswer(%s) = %+v, want it left to the SDK", in, r)
		}
	}
}
