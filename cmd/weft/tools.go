package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/catalog"
)

func newToolsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "tools", Short: "List and inspect the catalog's tools"}

	var server string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List every tool of every configured upstream",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := g.orchestrator(cmd.Context())
			if err != nil {
				return err
			}
			defer o.Close()
			if server != "" && !contains(o.Snapshot().Servers(), server) {
				return usageErr("--server: %q: no such server in the catalog (have: %s)", server, strings.Join(o.Snapshot().Servers(), ", "))
			}
			tools := o.Tools(cmd.Context(), server)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), tools)
			}
			printToolTable(cmd.OutOrStdout(), tools)
			for name, h := range o.Readiness().Upstreams {
				if h.Reason != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: upstream %s is %s: %s\n", name, h.State, h.Reason)
				}
			}
			return nil
		},
	}
	list.Flags().StringVar(&server, "server", "", "only tools of this server")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var showJSON, showTS bool
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show one tool: description, schemas, TypeScript signature",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if showJSON && showTS {
				return usageErr("--json and --typescript cannot be combined")
			}
			o, err := g.orchestrator(cmd.Context())
			if err != nil {
				return err
			}
			defer o.Close()
			t, err := o.Tool(cmd.Context(), args[0])
			if err != nil {
				return failure("%v", err)
			}
			w := cmd.OutOrStdout()
			switch {
			case showJSON:
				return writeJSON(w, t)
			case showTS:
				// The same declarations as GET /v1/typings and MCP
				// describe_tools: the tool and the globals of a program.
				ts, err := o.Typings(cmd.Context(), []string{t.Name})
				if err != nil {
					return failure("%v", err)
				}
				fmt.Fprint(w, ts)
				return nil
			}
			fmt.Fprintf(w, "%s  (server %s, upstream name %q)\n", t.Name, t.Server, t.Original)
			if t.Title != "" {
				fmt.Fprintf(w, "title: %s\n", t.Title)
			}
			fmt.Fprintf(w, "\n%s\n\nsignature:\n  %s\n", strings.TrimSpace(t.Description), catalog.TypeScriptSignature(t))
			if len(t.InputSchema) > 0 {
				fmt.Fprintf(w, "\ninput schema:\n%s\n", indentJSON(t.InputSchema))
			}
			if len(t.OutputSchema) > 0 {
				fmt.Fprintf(w, "\noutput schema:\n%s\n", indentJSON(t.OutputSchema))
			}
			return nil
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print the tool as JSON")
	show.Flags().BoolVar(&showTS, "typescript", false, "print TypeScript declarations for code mode")
	cmd.AddCommand(list, show)
	return cmd
}

func printToolTable(w io.Writer, tools []*catalog.Tool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSERVER\tDESCRIPTION")
	for _, t := range tools {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Server, firstLine(t.Description, 72))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d tool(s)\n", len(tools))
}

func firstLine(s string, max int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	return s
}

// indentJSON renders raw indented by two spaces (for sections of tools show).
func indentJSON(raw json.RawMessage) string { return "  " + prettyJSON(raw, "  ") }

// prettyJSON renders raw with two-space indentation, every line after the
// first prefixed with prefix; raw that is not JSON is returned as is.
func prettyJSON(raw json.RawMessage, prefix string) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, prefix, "  ")
	return string(b)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// exactArgs is cobra.ExactArgs with a usage error naming the arguments.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr("%s: expected %s, got %d argument(s)\nUsage: %s", cmd.CommandPath(), names, len(args), cmd.UseLine())
		}
		return nil
	}
}
