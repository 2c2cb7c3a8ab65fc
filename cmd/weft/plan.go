package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/plan"
)

// readPlan reads and parses a plan file ("-" = stdin), printing every
// problem with its path and line:col on failure.
func readPlan(o *weft.Orchestrator, path string, stdin io.Reader) (*plan.Plan, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, usageErr("%v", err)
	}
	p, err := o.ParsePlan(data)
	if err != nil {
		return nil, usageErr("%s: %v", path, err)
	}
	return p, nil
}

func problemsText(file string, probs []plan.Problem) string {
	s := fmt.Sprintf("%s: %d problem(s):", file, len(probs))
	for _, p := range probs {
		loc := ""
		if p.Line > 0 {
			loc = fmt.Sprintf("%d:%d: ", p.Line, p.Column)
		}
		s += fmt.Sprintf("\n  %s%s: %s", loc, p.Path, p.Message)
	}
	return s
}

func newPlanCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "plan", Short: "Validate plans"}
	check := &cobra.Command{
		Use:   "check PLAN",
		Short: "Validate a plan against the catalog and report every problem (exit 2 if any)",
		Args:  exactArgs(1, "PLAN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := g.orchestrator(cmd.Context())
			if err != nil {
				return err
			}
			defer o.Close()
			p, err := readPlan(o, args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			if probs := o.CheckPlan(cmd.Context(), p); len(probs) > 0 {
				return usageErr("%s", problemsText(args[0], probs))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK (%d steps, format %s)\n", args[0], len(p.Steps), p.Format)
			return nil
		},
	}
	cmd.AddCommand(check)
	return cmd
}

func newRunCmd(g *globals) *cobra.Command {
	var (
		inputsJSON string
		asJSON     bool
		watch      bool
	)
	cmd := &cobra.Command{
		Use:   "run PLAN [--inputs JSON] [--json] [--watch]",
		Short: "Validate and run a plan; exit 1 if any step failed",
		Args:  exactArgs(1, "PLAN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			inputs, err := plan.DecodeInputs([]byte(inputsJSON))
			if err != nil {
				return usageErr("--inputs: %v", err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o, err := g.orchestrator(ctx)
			if err != nil {
				return err
			}
			defer o.Close()
			p, err := readPlan(o, args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			errw := cmd.ErrOrStderr()
			var opts plan.RunOptions
			start := time.Now()
			if watch {
				opts.OnEvent = func(e plan.Event) { fmt.Fprintln(errw, formatEvent(e, start)) }
			}
			run, err := o.RunPlan(ctx, p, inputs, opts)
			if err != nil && run == nil {
				var pe *plan.ProblemsError
				if errors.As(err, &pe) {
					return usageErr("%s", problemsText(args[0], pe.Problems))
				}
				return failure("%v", err)
			}
			w := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(w, run); err != nil {
					return err
				}
			} else {
				printRun(w, run)
			}
			if watch {
				fmt.Fprintln(errw)
				renderTimeline(errw, run, 60)
			}
			if run.Status != plan.RunSucceeded {
				return failure("run %s %s: %s", run.ID, run.Status, run.Error)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&inputsJSON, "inputs", "", "plan inputs as a JSON object")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the run record as JSON")
	cmd.Flags().BoolVar(&watch, "watch", false, "print per-step progress, then a timeline of what ran in parallel")
	return cmd
}

func printRun(w io.Writer, run *plan.Run) {
	fmt.Fprintf(w, "run %s: %s in %s\n", run.ID, run.Status, run.Duration().Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATUS\tATTEMPTS\tDURATION\tERROR")
	for _, s := range run.Steps {
		msg := ""
		if s.Error != nil {
			msg = firstLine(s.Error.Message, 60)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.ID, s.Status, len(s.Attempts), s.Duration().Round(time.Millisecond), msg)
	}
	tw.Flush()
	if len(run.Outputs) > 0 {
		fmt.Fprintln(w, "outputs:")
		writeJSON(w, run.Outputs)
	}
}

func newRunsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "runs", Short: "Inspect plan run records"}
	var limit int
	var status string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List recent runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := g.offline()
			if err != nil {
				return err
			}
			defer o.Close()
			runs, err := o.ListRuns(cmd.Context(), plan.ListOptions{Limit: limit, Status: plan.RunStatus(status)})
			if err != nil {
				return failure("%v", err)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), runs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tSTARTED\tSTEPS\tFAILED\tNAME")
			for _, r := range runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.ID, r.Status, r.Started.Local().Format(time.DateTime), r.Steps, r.Failed, r.Name)
			}
			return tw.Flush()
		},
	}
	list.Flags().IntVar(&limit, "limit", 20, "number of runs")
	list.Flags().StringVar(&status, "status", "", "only runs with this status (running, succeeded, failed, canceled, interrupted)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	var showJSON bool
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one run: every step's status, attempts, timing, result or error",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := g.offline()
			if err != nil {
				return err
			}
			defer o.Close()
			run, err := o.GetRun(cmd.Context(), args[0])
			if err != nil {
				if errors.Is(err, plan.ErrNotFound) {
					return failure("no run %q", args[0])
				}
				return failure("%v", err)
			}
			if showJSON {
				return writeJSON(cmd.OutOrStdout(), run)
			}
			printRun(cmd.OutOrStdout(), run)
			return renderTimeline(cmd.OutOrStdout(), run, 60)
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print the run record as JSON")
	cmd.AddCommand(list, show)
	return cmd
}

// offline builds an orchestrator that starts no upstream (for commands that
// read local state only).
func (g *globals) offline() (*weft.Orchestrator, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	o, err := weft.New(weft.Options{Config: cfg, Logger: g.quietLogger(cfg), Offline: true})
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return o, nil
}
