package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft"
)

func newAskCmd(g *globals) *cobra.Command {
	var (
		strategy string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   `ask "REQUEST"`,
		Short: "Answer a request in natural language with the configured model and the tools",
		Long: `Answer a request in natural language: with --strategy plan (the default, ask.strategy)
search picks candidate tools, the model writes a plan, weft checks (and has the model repair)
it, runs it, and the model writes the answer from the step results; with --strategy agent the
model calls weft's meta-tools (search_tools, describe_tools, call_tool, run_code, run_plan)
until it answers. Needs a model: models.planner in weft.yaml, or PLANNER_PROVIDER,
PLANNER_MODEL and AZURE_OPENAI_ENDPOINT (see docs/ask.md).`,
		Args: exactArgs(1, "REQUEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strategy != "" && strategy != "plan" && strategy != "agent" {
				return usageErr("--strategy %q: not a strategy (allowed: plan, agent)", strategy)
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Models[cfg.Ask.PlannerModel] == nil {
				return usageErr("%v", weft.ErrNoModel)
			}
			o, err := g.start(cmd.Context(), cfg, nil)
			if err != nil {
				return err
			}
			defer o.Close()
			res, askErr := o.Ask(cmd.Context(), weft.AskRequest{Text: args[0], Strategy: strategy})
			w := cmd.OutOrStdout()
			if asJSON {
				out := struct {
					*weft.AskResult
					Error string `json:"error,omitempty"`
				}{AskResult: res}
				if askErr != nil {
					out.Error = askErr.Error()
				}
				if err := writeJSON(w, out); err != nil {
					return err
				}
			} else if res.Answer != "" {
				fmt.Fprintln(w, res.Answer)
			}
			e := cmd.ErrOrStderr()
			run := ""
			if res.Run != nil {
				run = ", run " + res.Run.ID
			}
			fmt.Fprintf(e, "%s: %d model call(s), tokens %d prompt (%d cached) + %d completion%s\n",
				res.Strategy, res.Turns, res.Usage.PromptTokens, res.Usage.CachedTokens, res.Usage.CompletionTokens, run)
			if askErr != nil {
				return failure("%v", askErr)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&strategy, "strategy", "", "plan or agent (default: ask.strategy, plan)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole result as JSON (plan, run, tool calls, token usage)")
	return cmd
}
