package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft"
)

func newStatsCmd(g *globals) *cobra.Command {
	var asJSON bool
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "stats [--since 24h] [--json]",
		Short: "Per-tool calls, failure rate, p50/p95 latency, rating and health, from the analytics database",
		Long: "stats reads the SQLite analytics database (analytics.backends must include sqlite; every weft\n" +
			"process with the same analytics.db_path writes to it). Health is the score of docs/operations.md\n" +
			"over the recent calls in the database and the ratings.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if since < 0 {
				return usageErr("--since %v: must not be negative", since)
			}
			o, err := g.offline()
			if err != nil {
				return err
			}
			defer o.Close()
			var from time.Time
			if since > 0 {
				from = time.Now().Add(-since)
			}
			rows, err := o.ToolStats(cmd.Context(), from)
			if err != nil {
				return failure("%v", err)
			}
			if asJSON {
				if rows == nil {
					rows = []weft.ToolStatsRow{}
				}
				return writeJSON(cmd.OutOrStdout(), map[string]any{"database": o.AnalyticsDatabase(), "tools": rows})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TOOL\tCALLS\tFAILED\tP50\tP95\tRATING\tHEALTH")
			for _, r := range rows {
				rating := "-"
				if r.Ratings > 0 {
					rating = fmt.Sprintf("%.1f (%d)", r.RatingMean, r.Ratings)
				}
				fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%s\t%s\t%s\t%.2f\n", r.Tool, r.Calls, 100*r.FailureRate,
					ms(r.P50MS, r.Calls), ms(r.P95MS, r.Calls), rating, r.Health)
			}
			if len(rows) == 0 {
				fmt.Fprintf(tw, "(no calls recorded in %s)\n", o.AnalyticsDatabase())
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().DurationVar(&since, "since", 0, "only calls of this last period (e.g. 24h; default: every call kept)")
	return cmd
}

// ms renders a latency in milliseconds ("-" without calls).
func ms(v float64, calls int64) string {
	if calls == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", v)
}
