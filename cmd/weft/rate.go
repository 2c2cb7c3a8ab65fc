package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/catalog"
)

func newRateCmd(g *globals) *cobra.Command {
	var comment string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rate TOOL 1..5 [--comment TEXT]",
		Short: "Rate a tool from 1 (useless) to 5 (excellent); ratings feed its health score",
		Args:  exactArgs(2, "TOOL and a rating from 1 to 5"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			rating, err := strconv.Atoi(args[1])
			if err != nil || rating < 1 || rating > 5 {
				return usageErr("rating %q: must be an integer from 1 to 5", args[1])
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			// Start only the upstream that owns the tool when the name says which.
			var only []string
			if server, _, ok := strings.Cut(name, catalog.Separator); ok {
				for _, s := range cfg.EnabledServers() {
					if s.Name == server {
						only = []string{server}
					}
				}
			}
			o, err := g.start(cmd.Context(), cfg, only)
			if err != nil {
				return err
			}
			defer o.Close()
			sum, err := o.RateTool(cmd.Context(), name, rating, comment)
			switch {
			case errors.Is(err, weft.ErrNotFound):
				return usageErr("%v (see weft tools)", err)
			case errors.Is(err, weft.ErrRatingsUnavailable):
				return usageErr("%v", err)
			case err != nil:
				return failure("%v", err)
			}
			t, _ := o.Tool(cmd.Context(), name)
			h := o.ToolHealth(name, t.Server)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"tool": name, "rating": rating, "ratings": sum, "health": h})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rated %s %d/5; its ratings: %.1f from %d; health %.2f\n", name, rating, sum.Mean, sum.Count, h.Score)
			return nil
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "a comment with the rating")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
