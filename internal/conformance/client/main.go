// Command client runs one client scenario of the MCP conformance suite with
// weft's upstream client (source/mcp): `conformance client --command
// client` starts it with the server URL as its argument and the scenario in
// MCP_CONFORMANCE_SCENARIO.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source/mcp"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: client <server-url> (scenario in MCP_CONFORMANCE_SCENARIO)")
		os.Exit(2)
	}
	if err := run(os.Getenv("MCP_CONFORMANCE_SCENARIO"), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

// scenarios maps a scenario to the tool it calls ("" for none).
var scenarios = map[string]struct {
	tool string
	args string
}{
	"initialize": {},
	"tools_call": {tool: "add_numbers", args: `{"a":5,"b":3}`},
	"sse-retry":  {tool: "test_reconnection", args: `{}`},
}

func run(scenario, url string) error {
	sc, ok := scenarios[scenario]
	if !ok {
		return fmt.Errorf("unknown scenario %q", scenario)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	u, err := mcp.New(mcp.Config{Name: "conformance", URL: url, ConnectTimeout: 10 * time.Second}, log)
	if err != nil {
		return err
	}
	defer u.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := u.Start(ctx); err != nil {
		return err
	}
	tools, err := u.Tools(ctx)
	if err != nil {
		return err
	}
	if sc.tool == "" {
		return nil
	}
	if !slices.ContainsFunc(tools, func(t catalog.Tool) bool { return t.Original == sc.tool }) {
		return fmt.Errorf("tool %q not listed", sc.tool)
	}
	res, err := u.Call(ctx, sc.tool, json.RawMessage(sc.args))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", sc.tool, res.Text())
	return nil
}
