package main

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
)

// globals are the persistent flags shared by every command.
type globals struct {
	configPath string
	logLevel   string
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "weft",
		Short: "weft — one catalog, search, code mode and plans over many MCP servers",
		Long: `weft is a tool orchestrator for LLM agents. It puts the tools of many MCP servers
into one catalog, finds the few that matter for a request, and runs them with
production limits — from this CLI, a REST API, an MCP endpoint or Go.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&g.configPath, "config", "c", "", "path to weft.yaml (default: $WEFT_CONFIG, ./weft.yaml, ~/.config/weft/weft.yaml)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "log level: debug, info, warn, error (default: config / $WEFT_LOG_LEVEL)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%v\nRun '%s --help' for usage.", err, c.CommandPath())
	})
	root.AddCommand(newServeCmd(g), newMCPCmd(g), newToolsCmd(g), newCallCmd(g), newSearchCmd(g), newAskCmd(g), newEvalCmd(), newExecCmd(g), newRunCmd(g), newPlanCmd(g), newRunsCmd(g), newConfigCmd(g), newKeysCmd(), newVersionCmd(), newDoctorCmd(g), newHealthCmd(g), newStatsCmd(g), newRateCmd(g))
	return root
}

// loadConfig loads and validates the configuration named by the flags.
func (g *globals) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(config.LoadOptions{Path: g.configPath})
	if err != nil {
		return nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	if g.logLevel != "" {
		switch g.logLevel {
		case "debug", "info", "warn", "error":
			cfg.Log.Level = g.logLevel
		default:
			return nil, usageErr("--log-level: %q: must be one of debug, info, warn, error", g.logLevel)
		}
	}
	return cfg, nil
}

// logger builds the process logger (stderr) from the configuration.
func logger(cfg *config.Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(cfg.Log.Level)))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// quietLogger is the logger for one-shot commands: warnings and errors only,
// unless --log-level asks for more.
func (g *globals) quietLogger(cfg *config.Config) *slog.Logger {
	if g.logLevel == "" && (cfg.Log.Level == "info" || cfg.Log.Level == "debug") {
		c := *cfg
		c.Log.Level = "warn"
		return logger(&c)
	}
	return logger(cfg)
}

// orchestrator loads config, then builds and starts an orchestrator over
// every configured upstream. The caller must Close it.
func (g *globals) orchestrator(ctx context.Context) (*weft.Orchestrator, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	return g.start(ctx, cfg, nil)
}

// start builds and starts an orchestrator over cfg; servers, if given,
// limits which upstreams are started. The caller must Close it.
func (g *globals) start(ctx context.Context, cfg *config.Config, servers []string) (*weft.Orchestrator, error) {
	o, err := weft.New(weft.Options{Config: cfg, Logger: g.quietLogger(cfg), Servers: servers})
	if err != nil {
		return nil, usageErr("%v", err)
	}
	if err := o.Start(ctx); err != nil {
		o.Close()
		return nil, failure("start: %v", err)
	}
	return o, nil
}
