package mcpgw_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/server"
)

// tenant is a client of the passthrough endpoint that answers sampling and
// elicitation requests and counts them.
type tenant struct {
	cs               *mcp.ClientSession
	sampled, elicits atomic.Int32
	progress         chan float64
	toolsChanged     chan struct{}
}

func newTenant(t *testing.T, url, name string) *tenant {
	tn := &tenant{progress: make(chan float64, 128), toolsChanged: make(chan struct{}, 16)}
	tn.cs = connect(t, url, "2025-11-25", &mcp.ClientOptions{
		CreateMessageHandler: func(context.Context, *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			tn.sampled.Add(1)
			return &mcp.CreateMessageResult{Model: "m", Role: "assistant", Content: &mcp.TextContent{Text: "reply from " + name}}, nil
		},
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			tn.elicits.Add(1)
			return &mcp.ElicitResult{Action: "decline"}, nil
		},
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			select {
			case tn.progress <- r.Params.Progress:
			default:
			}
		},
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case tn.toolsChanged <- struct{}{}:
			default:
			}
		},
	})
	return tn
}

// waitTool waits until the endpoint lists tool (server-everything registers
// its sampling and elicitation tools after initialization).
func (tn *tenant) waitTool(t *testing.T, tool string) {
	t.Helper()
	for {
		l, err := tn.cs.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(l.Tools, func(x *mcp.Tool) bool { return x.Name == tool }) {
			return
		}
		recv(t, tn.toolsChanged)
	}
}

// TestUpstreamRequestsReachOnlyTheirCaller: sampling and elicitation
// requests of an upstream go to the client whose call caused them; while
// calls of two clients are in flight on the upstream the cause cannot be
// told, and weft refuses to relay rather than guess (before: the client
// with the most recent call got them, whoever caused them).
//
// Over Streamable HTTP the upstream sends these requests in the event
// stream answering the call, which weft reads itself (source/mcp's raw
// HTTP path): the same relay decisions must hold there.
func TestUpstreamRequestsReachOnlyTheirCaller(t *testing.T) {
	t.Run("stdio", func(t *testing.T) {
		requestsReachOnlyTheirCaller(t, everythingConfig(t, config.Endpoint{Path: "/mcp/pt", Mode: "passthrough"}))
	})
	t.Run("streamable-http", func(t *testing.T) {
		cfg := everythingConfig(t, config.Endpoint{Path: "/mcp/pt", Mode: "passthrough"})
		cfg.Servers["everything"] = &config.Server{Name: "everything", Transport: config.TransportHTTP, URL: testenv.EverythingHTTP(t)}
		requestsReachOnlyTheirCaller(t, cfg)
	})
}

func requestsReachOnlyTheirCaller(t *testing.T, cfg *config.Config) {
	_, base := startWeft(t, cfg)
	a := newTenant(t, base+"/mcp/pt", "a")
	b := newTenant(t, base+"/mcp/pt", "b")
	a.waitTool(t, "everything__trigger-sampling-request")
	a.waitTool(t, "everything__trigger-elicitation-request")
	ctx := context.Background()
	sample := func() *mcp.CallToolResult {
		return call(t, a.cs, "everything__trigger-sampling-request", map[string]any{"prompt": "hi", "maxTokens": 10})
	}

	// Alone in flight: a's own call, a's sampling.
	if r := sample(); r.IsError || !strings.Contains(text(r), "reply from a") {
		t.Fatalf("a's sampling alone: %v %s", r.IsError, text(r))
	}
	if a.sampled.Load() != 1 || b.sampled.Load() != 0 {
		t.Fatalf("sampled: a %d, b %d", a.sampled.Load(), b.sampled.Load())
	}

	// b has a long call in flight on the same upstream (its first progress
	// notification says it started); a's sampling and elicitation could be
	// either's, so neither client gets them.
	bctx, cancelB := context.WithCancel(ctx)
	bDone := make(chan error, 1)
	go func() {
		_, err := b.cs.CallTool(bctx, &mcp.CallToolParams{Name: "everything__trigger-long-running-operation",
			Arguments: map[string]any{"duration": 60, "steps": 60}, Meta: mcp.Meta{"progressToken": "b-1"}})
		bDone <- err
	}()
	recv(t, b.progress)
	r := sample()
	if !r.IsError && !strings.Contains(text(r), "refusing to relay") {
		t.Fatalf("a's sampling while b's call is in flight: %v %s", r.IsError, text(r))
	}
	r = call(t, a.cs, "everything__trigger-elicitation-request", map[string]any{})
	if !r.IsError && !strings.Contains(text(r), "refusing to relay") {
		t.Fatalf("a's elicitation while b's call is in flight: %v %s", r.IsError, text(r))
	}
	if n, m := b.sampled.Load(), b.elicits.Load(); n != 0 || m != 0 {
		t.Fatalf("b received a's requests: %d sampling, %d elicitation", n, m)
	}
	if n, m := a.sampled.Load(), a.elicits.Load(); n != 1 || m != 0 {
		t.Fatalf("a received a guessed request: %d sampling, %d elicitation", n, m)
	}
	cancelB()
	<-bDone

	// b's call ended: a is alone again. The client's CallTool returns when
	// it sends the cancellation; weft ends b's upstream call when that
	// notification arrives, so wait (bounded) until weft no longer counts it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := sample()
		if !r.IsError && strings.Contains(text(r), "reply from a") {
			break
		}
		if !strings.Contains(text(r), "refusing to relay") || time.Now().After(deadline) {
			t.Fatalf("a's sampling after b's call ended: %v %s", r.IsError, text(r))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n, m := b.sampled.Load(), b.elicits.Load(); n != 0 || m != 0 {
		t.Fatalf("b received a's requests: %d sampling, %d elicitation", n, m)
	}
}

// signalHandler is an slog.Handler that reports records with one message.
type signalHandler struct {
	msg string
	ch  chan slog.Record
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		select {
		case h.ch <- r:
		default:
		}
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

// TestUpstreamLogsOutsideCallsStayWithTheOperator: log messages an upstream
// sends outside any call (server-everything's simulated logging, every 5 s)
// belong to no client: they go to weft's log, not to every session
// (before: broadcast to all sessions, whichever tenant they were).
func TestUpstreamLogsOutsideCallsStayWithTheOperator(t *testing.T) {
	cfg := everythingConfig(t, config.Endpoint{Path: "/mcp/pt", Mode: "passthrough"})
	cfg.Cache.Dir = t.TempDir()
	cfg.Limits.RequestsPerMinute = 1_000_000
	o, err := weft.New(weft.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	logged := signalHandler{msg: "upstream log message", ch: make(chan slog.Record, 8)}
	hs := httptest.NewServer(server.New(o, server.Options{Logger: slog.New(logged)}))
	t.Cleanup(hs.Close)
	var aLogs, bLogs atomic.Int32
	logTo := func(n *atomic.Int32) *mcp.ClientOptions {
		return &mcp.ClientOptions{LoggingMessageHandler: func(context.Context, *mcp.LoggingMessageRequest) { n.Add(1) }}
	}
	a := connect(t, hs.URL+"/mcp/pt", "2025-11-25", logTo(&aLogs))
	connect(t, hs.URL+"/mcp/pt", "2025-11-25", logTo(&bLogs)) // b: connected, idle
	if r := call(t, a, "everything__toggle-simulated-logging", map[string]any{}); r.IsError {
		t.Fatalf("toggle-simulated-logging: %s", text(r))
	}
	// The first message outside the call reaches the operator's log...
	rec := recv(t, logged.ch)
	// ...and no session: b made no call at all, a's call is over (a may
	// have got the one message sent while its call was in flight).
	if n := bLogs.Load(); n != 0 {
		t.Fatalf("b received %d upstream log messages caused by a's call", n)
	}
	if n := aLogs.Load(); n > 1 {
		t.Fatalf("a received %d upstream log messages sent outside its call", n)
	}
	var server string
	rec.Attrs(func(at slog.Attr) bool {
		if at.Key == "server" {
			server = at.Value.String()
		}
		return true
	})
	if server != "everything" {
		t.Fatalf("operator log record names server %q", server)
	}
}
