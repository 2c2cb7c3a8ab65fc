package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/agent"
)

func newAskCmd(g *globals) *cobra.Command {
	var (
		strategy string
		asJSON   bool
		watch    bool
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
			req := weft.AskRequest{Text: args[0], Strategy: strategy}
			if watch {
				e := cmd.ErrOrStderr()
				req.OnEvent = func(ev agent.Event) {
					if line := watchLine(ev); line != "" {
						fmt.Fprintln(e, line)
					}
				}
			}
			res, askErr := o.Ask(cmd.Context(), req)
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
	cmd.Flags().BoolVar(&watch, "watch", false, "show the progress live on stderr: candidates, model calls and tokens, the plan, steps, tool calls")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole result as JSON (plan, run, tool calls, token usage)")
	return cmd
}

// watchLine renders one progress event of weft ask --watch.
func watchLine(ev agent.Event) string {
	at := ev.Time.Format("15:04:05.000")
	switch ev.Type {
	case agent.EventCandidates:
		all := ""
		if ev.All {
			all = " (every tool you may use)"
		}
		return fmt.Sprintf("%s search     %d candidate tool(s)%s: %s", at, len(ev.Tools), all, strings.Join(ev.Tools, ", "))
	case agent.EventModelCall:
		if ev.Error != "" {
			return fmt.Sprintf("%s model      %s failed: %s", at, ev.Purpose, ev.Error)
		}
		u := ev.Usage
		if u == nil {
			u = &agent.Usage{}
		}
		return fmt.Sprintf("%s model      %-9s %d prompt (%d cached) + %d completion tokens, %s", at, ev.Purpose, u.PromptTokens, u.CachedTokens, u.CompletionTokens, ev.FinishReason)
	case agent.EventPlan:
		steps := 0
		if ev.Plan != nil {
			steps = len(ev.Plan.Steps)
		}
		if len(ev.Problems) == 0 {
			return fmt.Sprintf("%s plan       %d step(s), valid", at, steps)
		}
		lines := []string{fmt.Sprintf("%s plan       %d problem(s):", at, len(ev.Problems))}
		for _, p := range ev.Problems {
			lines = append(lines, "             "+p.String())
		}
		return strings.Join(lines, "\n")
	case agent.EventStep:
		s := ev.Step
		parts := []string{at, "step      "}
		for _, p := range []string{string(s.Type), s.Step, s.Status} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		line := strings.Join(parts, " ")
		if s.Error != nil {
			line += ": " + s.Error.Error()
		}
		return line
	case agent.EventToolCall:
		if ev.Error != "" {
			return fmt.Sprintf("%s tool       %s failed: %s", at, ev.Tool, ev.Error)
		}
		return fmt.Sprintf("%s tool       %s ok", at, ev.Tool)
	case agent.EventAnswerDelta:
		return "" // the answer goes to stdout whole; its pieces are for streaming clients
	case agent.EventAnswer:
		return fmt.Sprintf("%s answer     %d characters", at, len(ev.Answer))
	}
	return at + " " + ev.Type
}
