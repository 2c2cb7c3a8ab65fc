package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/doctor"
)

func newDoctorCmd(g *globals) *cobra.Command {
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the configuration, upstreams, credentials, Redis, cache dir, timeouts and clock",
		Long: `weft doctor runs the troubleshooting quick checks and reports each as ok, warn or
fail, with the reason and the fix (docs/troubleshooting.md explains each finding).
It exits 1 when any check fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout <= 0 {
				return usageErr("--timeout: must be positive")
			}
			rep := doctor.Run(cmd.Context(), doctor.Options{
				Load:    func() (*config.Config, error) { return config.Load(config.LoadOptions{Path: g.configPath}) },
				Timeout: timeout,
			})
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(jsonReport(rep)); err != nil {
					return failure("%v", err)
				}
			} else {
				renderDoctor(out, rep)
			}
			if rep.Failed() {
				return &exitError{code: exitFailure}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the findings as JSON")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "bound of each network check (Redis, Entra ID token, clock)")
	return cmd
}

// doctorJSON is the --json shape: took in milliseconds.
type doctorJSON struct {
	Config   string        `json:"config,omitempty"`
	OK       bool          `json:"ok"`
	Findings []findingJSON `json:"findings"`
}

type findingJSON struct {
	Check  string        `json:"check"`
	Status doctor.Status `json:"status"`
	Reason string        `json:"reason"`
	Fix    string        `json:"fix,omitempty"`
	TookMS int64         `json:"took_ms"`
}

func jsonReport(r doctor.Report) doctorJSON {
	out := doctorJSON{Config: r.Config, OK: !r.Failed(), Findings: []findingJSON{}}
	for _, f := range r.Findings {
		out.Findings = append(out.Findings, findingJSON{f.Check, f.Status, f.Reason, f.Fix, f.Took.Milliseconds()})
	}
	return out
}

// renderDoctor prints one line per finding, its fix indented below.
func renderDoctor(w io.Writer, r doctor.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	counts := map[doctor.Status]int{}
	for _, f := range r.Findings {
		counts[f.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToUpper(string(f.Status)), f.Check, strings.ReplaceAll(f.Reason, "\n", "\n\t\t"))
		if f.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", f.Fix)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d ok, %d warn, %d fail\n", counts[doctor.OK], counts[doctor.Warn], counts[doctor.Fail])
}
