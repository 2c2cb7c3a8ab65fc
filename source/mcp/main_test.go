package mcp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The test binary doubles as a stdio MCP server: with WEFT_TEST_MCP_SERVER
// set to a mode it serves that mode on stdin/stdout and exits.
const (
	envServerMode = "WEFT_TEST_MCP_SERVER"
	envMarker     = "WEFT_TEST_MARKER" // a file the server writes observations to
	// envLauncher makes the test binary play weft: it starts an upstream
	// (this binary in mode "spawnchild") and writes "<upstream pid>
	// <grandchild pid>" to the file it names, then waits to be killed.
	envLauncher = "WEFT_TEST_LAUNCHER"
)

// runLauncher is the envLauncher mode.
func runLauncher() int {
	out := os.Getenv(envLauncher)
	self, _ := os.Executable()
	childMarker := out + ".child"
	u, err := New(Config{Name: "launched", Command: self,
		Env: map[string]string{envServerMode: "spawnchild", envMarker: childMarker}}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := u.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	grandchild, err := os.ReadFile(childMarker)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.WriteFile(out+".tmp", []byte(fmt.Sprintf("%d %s", u.Health().PID, grandchild)), 0o644)
	os.Rename(out+".tmp", out)
	select {}
}

func TestMain(m *testing.M) {
	if os.Getenv(envLauncher) != "" {
		os.Exit(runLauncher())
	}
	if mode := os.Getenv(envServerMode); mode != "" {
		os.Exit(serveTestMode(mode))
	}
	os.Exit(m.Run())
}

type echoIn struct {
	Message string `json:"message" jsonschema:"the text to echo"`
}

type addIn struct {
	A int `json:"a"`
	B int `json:"b"`
}

type addOut struct {
	Sum int `json:"sum"`
}

type noIn struct{}

func text(s string) *sdk.CallToolResult {
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: s}}}
}

// addBaseTools registers the tools every test server has.
func addBaseTools(s *sdk.Server) {
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Title: "Echo", Description: "Echoes the message.",
		Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr(false)}},
		func(_ context.Context, _ *sdk.CallToolRequest, in echoIn) (*sdk.CallToolResult, any, error) {
			return text("echo: " + in.Message), nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "add", Description: "Adds two integers."},
		func(_ context.Context, _ *sdk.CallToolRequest, in addIn) (*sdk.CallToolResult, addOut, error) {
			return nil, addOut{Sum: in.A + in.B}, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "fail", Description: "Always reports a tool error."},
		func(context.Context, *sdk.CallToolRequest, noIn) (*sdk.CallToolResult, any, error) {
			return nil, nil, fmt.Errorf("this tool always fails")
		})
	sdk.AddTool(s, &sdk.Tool{Name: "env", Description: "Returns an environment variable and the cwd."},
		func(_ context.Context, _ *sdk.CallToolRequest, in echoIn) (*sdk.CallToolResult, any, error) {
			wd, _ := os.Getwd()
			return text(os.Getenv(in.Message) + "|" + wd), nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "hang", Description: "Blocks until cancelled; then writes 'cancelled' to the marker file."},
		func(ctx context.Context, _ *sdk.CallToolRequest, _ noIn) (*sdk.CallToolResult, any, error) {
			if p := os.Getenv(envMarker); p != "" {
				os.WriteFile(p+".started", []byte("started"), 0o644)
			}
			<-ctx.Done()
			if p := os.Getenv(envMarker); p != "" {
				os.WriteFile(p, []byte("cancelled"), 0o644)
			}
			return nil, nil, ctx.Err()
		})
}

// gatedReader reads from r until wedged is set; then every Read blocks.
// With deaf set instead, it goes on reading r but hands nothing on: the
// server no longer answers, while writes to it do not block.
type gatedReader struct {
	r      *os.File
	wedged atomic.Bool
	deaf   atomic.Bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	for {
		if g.wedged.Load() {
			select {}
		}
		n, err := g.r.Read(p)
		// A read in progress when the flag was set must not hand on what
		// arrived after it: check again.
		if err != nil || !(g.deaf.Load() || g.wedged.Load()) {
			return n, err
		}
	}
}

func (g *gatedReader) Close() error { return g.r.Close() }

func serveTestMode(mode string) int {
	opts := &sdk.ServerOptions{Instructions: "A weft test server in mode " + mode + "."}
	if mode == "many" {
		opts.PageSize = 100
	}
	s := sdk.NewServer(&sdk.Implementation{Name: "weft-test", Version: "1"}, opts)
	addBaseTools(s)
	switch mode {
	case "normal", "hang", "wedge":
	case "meta":
		sdk.AddTool(s, &sdk.Tool{Name: "traceparent", Description: "Returns params._meta.traceparent of the call."},
			func(_ context.Context, req *sdk.CallToolRequest, _ noIn) (*sdk.CallToolResult, any, error) {
				tp, _ := req.Params.Meta["traceparent"].(string)
				return text(tp), nil, nil
			})
	case "big":
		sdk.AddTool(s, &sdk.Tool{Name: "big", Description: "Returns a text of the given size."},
			func(_ context.Context, _ *sdk.CallToolRequest, in struct {
				Size int `json:"size"`
			}) (*sdk.CallToolResult, any, error) {
				return text(strings.Repeat("b", in.Size)), nil, nil
			})
		sdk.AddTool(s, &sdk.Tool{Name: "await_go", Description: "Returns once the marker file says go."},
			func(ctx context.Context, _ *sdk.CallToolRequest, _ noIn) (*sdk.CallToolResult, any, error) {
				for ctx.Err() == nil {
					if b, _ := os.ReadFile(os.Getenv(envMarker)); string(b) == "go" {
						return text("went"), nil, nil
					}
					time.Sleep(10 * time.Millisecond)
				}
				return nil, nil, ctx.Err()
			})
	case "crashstart":
		// Crashes at start, as a server with a bad configuration does: a
		// secret-laden message on stderr, stdout closed, exit a moment later.
		fmt.Fprintln(os.Stderr, "fatal: cannot reach postgres://admin:hunter2@db:5432/app (password=hunter2, token=tk-98765)")
		os.Stdout.Close()
		time.Sleep(300 * time.Millisecond)
		return 4
	case "stubborn":
		// Ignores SIGTERM and outlives its stdin: only SIGKILL ends it.
		signal.Ignore(syscall.SIGTERM)
		defer func() { select {} }()
	case "crash":
		sdk.AddTool(s, &sdk.Tool{Name: "crash", Description: "Exits the process mid-call."},
			func(context.Context, *sdk.CallToolRequest, noIn) (*sdk.CallToolResult, any, error) {
				fmt.Fprintln(os.Stderr, "crash: giving up")
				os.Exit(3)
				return nil, nil, nil
			})
	case "malformed":
		sdk.AddTool(s, &sdk.Tool{Name: "garble", Description: "Writes garbage to stdout mid-call."},
			func(ctx context.Context, _ *sdk.CallToolRequest, _ noIn) (*sdk.CallToolResult, any, error) {
				os.Stdout.WriteString("this is {not json-rpc\n")
				<-ctx.Done()
				return nil, nil, ctx.Err()
			})
	case "many":
		for i := range 1000 {
			sdk.AddTool(s, &sdk.Tool{Name: fmt.Sprintf("tool_%04d", i), Description: fmt.Sprintf("Tool number %d.", i)},
				func(context.Context, *sdk.CallToolRequest, noIn) (*sdk.CallToolResult, any, error) {
					return text(strconv.Itoa(i)), nil, nil
				})
		}
	case "listchanged":
		sdk.AddTool(s, &sdk.Tool{Name: "grow", Description: "Adds the tool 'added' and announces it."},
			func(context.Context, *sdk.CallToolRequest, noIn) (*sdk.CallToolResult, any, error) {
				sdk.AddTool(s, &sdk.Tool{Name: "added", Description: "Added at run time."},
					func(context.Context, *sdk.CallToolRequest, noIn) (*sdk.CallToolResult, any, error) {
						return text("added works"), nil, nil
					})
				return text("grown"), nil, nil
			})
	case "spawnchild":
		// A grandchild in our process group that outlives nothing: it must
		// die with the group.
		c := exec.Command("sleep", "300")
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "spawn:", err)
			return 1
		}
		os.WriteFile(os.Getenv(envMarker), []byte(strconv.Itoa(c.Process.Pid)), 0o644)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		return 2
	}
	var transport sdk.Transport = &sdk.StdioTransport{}
	if mode == "wedge" {
		// The tool "wedge" makes the server stop reading its stdin (and
		// never answer): writes to it block once the pipe is full. The
		// tool "deafen" makes it drop its input: it never answers again.
		in := &gatedReader{r: os.Stdin}
		sdk.AddTool(s, &sdk.Tool{Name: "wedge", Description: "Stops reading stdin; never answers."},
			func(context.Context, *sdk.CallToolRequest, noIn) (*sdk.CallToolResult, any, error) {
				in.wedged.Store(true)
				os.WriteFile(os.Getenv(envMarker), []byte("wedged"), 0o644)
				select {}
			})
		sdk.AddTool(s, &sdk.Tool{Name: "deafen", Description: "Drops all further input; never answers."},
			func(context.Context, *sdk.CallToolRequest, noIn) (*sdk.CallToolResult, any, error) {
				in.deaf.Store(true)
				os.WriteFile(os.Getenv(envMarker), []byte("deaf"), 0o644)
				select {}
			})
		transport = &sdk.IOTransport{Reader: in, Writer: os.Stdout}
	}
	fmt.Fprintln(os.Stderr, "test server ready in mode", mode)
	if err := s.Run(context.Background(), transport); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
	}
	return 0
}
