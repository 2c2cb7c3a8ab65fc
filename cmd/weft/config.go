package main

import (
	"fmt"

	"github.com/spf13/cobra"
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
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	})
	return cmd
}
