package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/search/eval"
)

func newSearchCmd(g *globals) *cobra.Command {
	var (
		k       int
		servers []string
		tags    []string
		asJSON  bool
		schema  bool
		ro      bool
	)
	cmd := &cobra.Command{
		Use:   `search "QUERY"`,
		Short: "Find the tools that best match a request in natural language",
		Args:  exactArgs(1, "QUERY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := search.Query{Text: args[0], K: k, Servers: servers, Tags: tags, ReadOnly: ro, WithSchema: schema, WithSignature: true}
			if err := q.Validate(); err != nil {
				return usageErr("%v", err)
			}
			o, err := g.orchestrator(cmd.Context())
			if err != nil {
				return err
			}
			defer o.Close()
			resp, err := o.Search(cmd.Context(), q)
			if err != nil {
				var qe *search.QueryError
				if errors.As(err, &qe) {
					return usageErr("%v", err)
				}
				return failure("%v", err)
			}
			if resp.Degraded != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: %s; these results are lexical only\n", resp.Degraded)
			}
			res := resp.Results
			w := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(w, res)
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "#\tSCORE\tNAME\tDESCRIPTION")
			for i, r := range res {
				fmt.Fprintf(tw, "%d\t%.2f\t%s\t%s\n", i+1, r.Score, r.Name, firstLine(r.Description, 70))
			}
			tw.Flush()
			if len(res) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no tool matched")
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&k, "k", "k", 10, "number of results")
	cmd.Flags().StringSliceVar(&servers, "server", nil, "only tools of these servers")
	cmd.Flags().StringSliceVar(&tags, "tag", nil, "only tools with one of these tags")
	cmd.Flags().BoolVar(&ro, "read-only", false, "only tools annotated read-only")
	cmd.Flags().BoolVar(&schema, "schema", false, "include input schemas (with --json)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newEvalCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "eval", Short: "Measure weft against labelled benchmarks"}
	var (
		dir, split string
		asJSON     bool
		reference  bool
		baseline   string
		maxDrop    float64
	)
	s := &cobra.Command{
		Use:   "search --data DIR",
		Short: "Evaluate tool search on a data set (tools.jsonl + queries.jsonl): Recall@1/5/10, nDCG@10, MRR@10, latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return usageErr("--data DIR is required (a folder with tools.jsonl and queries.jsonl)")
			}
			opts := eval.Options{Dir: dir, Split: split}
			if reference {
				opts.Engine = &eval.ReferenceBM25{}
			}
			rep, err := eval.Run(cmd.Context(), opts)
			if err != nil {
				return usageErr("%v", err)
			}
			if asJSON {
				err = writeJSON(cmd.OutOrStdout(), rep)
			} else {
				err = rep.WriteText(cmd.OutOrStdout())
			}
			if err != nil || baseline == "" {
				return err
			}
			return checkBaseline(cmd, rep, baseline, maxDrop)
		},
	}
	s.Flags().StringVar(&dir, "data", "", "data set folder (toolbench format)")
	s.Flags().StringVar(&split, "split", "dev", "queries to use: dev, test or all")
	s.Flags().BoolVar(&asJSON, "json", false, "print a machine-readable report")
	s.Flags().BoolVar(&reference, "reference", false, "measure the plain-BM25 reference instead of weft's engine")
	s.Flags().StringVar(&baseline, "baseline", "", `regression gate: a JSON file {"<dataset>": <Recall@5>}; exit 1 if Recall@5 drops more than --max-drop below it`)
	s.Flags().Float64Var(&maxDrop, "max-drop", 0.02, "allowed Recall@5 drop below --baseline")
	cmd.AddCommand(s)
	return cmd
}

// checkBaseline fails when the report's Recall@5 is more than maxDrop below
// the baseline recorded for its dataset.
func checkBaseline(cmd *cobra.Command, rep *eval.Report, path string, maxDrop float64) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return usageErr("--baseline: %v", err)
	}
	var base map[string]float64
	if err := json.Unmarshal(b, &base); err != nil {
		return usageErr("--baseline %s: not a JSON object of dataset → Recall@5: %v", path, err)
	}
	want, ok := base[rep.Dataset]
	if !ok {
		return usageErr("--baseline %s: no entry for dataset %q", path, rep.Dataset)
	}
	got := rep.Recall[5]
	if got < want-maxDrop {
		return failure("%s: Recall@5 %.3f is %.3f below the baseline %.3f (allowed drop %.3f)", rep.Dataset, got, want-got, want, maxDrop)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: Recall@5 %.3f vs baseline %.3f: OK\n", rep.Dataset, got, want)
	return nil
}
