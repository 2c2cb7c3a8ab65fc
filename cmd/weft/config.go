package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/config"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print the effective config (secrets masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			out, err := cfg.Redacted().YAML()
			if err != nil {
				return err
			}
			src := cfg.Path
			if src == "" {
				src = "(no file: defaults and environment)"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "configuration OK: %s, %d server(s) enabled\n", src, len(cfg.EnabledServers()))
			writeDerivedNames(cmd.ErrOrStderr(), cfg)
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	})
	return cmd
}

// writeDerivedNames lists the mcp.json servers imported under a derived
// weft name (their own is not a valid server name), as `"original" → name`.
func writeDerivedNames(w io.Writer, cfg *config.Config) {
	var names []string
	for name, s := range cfg.Servers {
		if s.MCPName != "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return
	}
	slices.Sort(names)
	fmt.Fprintf(w, "mcp.json server names imported under valid weft names (their tools are <name>__<tool>):\n")
	for _, name := range names {
		fmt.Fprintf(w, "  %q → %s\n", cfg.Servers[name].MCPName, name)
	}
}
