package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/server/mcpgw"
)

func newMCPCmd(g *globals) *cobra.Command {
	var mode, endpoint string
	var servers []string
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve weft as an MCP server over stdio (for Claude Desktop, Cursor, VS Code...)",
		Long: `Serve weft as an MCP server on stdin/stdout. Logs go to stderr only.

The endpoint is the first of gateway.endpoints in weft.yaml (or the one named
by --endpoint); --mode and --servers override its mode and server filter.
In meta mode (the default) the client sees search_tools, describe_tools,
call_tool, run_code and run_plan; in passthrough mode every upstream tool,
resource and prompt.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			ep, err := pickEndpoint(cfg, endpoint, mode, servers)
			if err != nil {
				return err
			}
			log := logger(cfg) // stderr: stdout carries the protocol
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o, err := weft.New(weft.Options{Config: cfg, Logger: log})
			if err != nil {
				return usageErr("%v", err)
			}
			defer o.Close()
			if err := o.Start(ctx); err != nil && ctx.Err() == nil {
				return failure("start: %v", err)
			}
			m, err := mcpgw.New(o, ep, mcpgw.Options{Logger: log})
			if err != nil {
				return usageErr("%v", err)
			}
			defer m.Close()
			log.Info("serving MCP over stdio", "mode", ep.Mode, "tools", o.Snapshot().Len())
			err = m.ServeStdio(ctx, os.Stdin, os.Stdout)
			if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) && !isEOF(err) {
				return failure("mcp: %v", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&mode, "mode", "", "meta or passthrough (default: the endpoint's mode, meta)")
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "the gateway.endpoints path whose settings to use (default: the first)")
	cmd.Flags().StringSliceVar(&servers, "servers", nil, "expose only these upstream servers (comma-separated)")
	return cmd
}

// pickEndpoint selects and adjusts the endpoint settings weft mcp serves.
func pickEndpoint(cfg *config.Config, path, mode string, servers []string) (config.Endpoint, error) {
	ep := config.Endpoint{Path: "/mcp", Mode: mcpgw.ModeMeta}
	if eps := cfg.Gateway.Endpoints; len(eps) > 0 {
		ep = eps[0]
	}
	if path != "" {
		found := false
		var paths []string
		for _, e := range cfg.Gateway.Endpoints {
			paths = append(paths, e.Path)
			if e.Path == path {
				ep, found = e, true
			}
		}
		if !found {
			return ep, usageErr("--endpoint: %q is not in gateway.endpoints (have: %s)", path, strings.Join(paths, ", "))
		}
	}
	switch mode {
	case "":
	case mcpgw.ModeMeta, mcpgw.ModePassthrough:
		ep.Mode = mode
	default:
		return ep, usageErr("--mode: %q: must be meta or passthrough", mode)
	}
	if len(servers) > 0 {
		for _, s := range servers {
			if _, ok := cfg.Servers[s]; !ok {
				return ep, usageErr("--servers: %q is not a configured server", s)
			}
		}
		ep.Servers = servers
	}
	if ep.Mode == "" {
		ep.Mode = mcpgw.ModeMeta
	}
	return ep, nil
}

// isEOF reports the normal end of a stdio session (the client closed stdin).
func isEOF(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "closed"))
}
