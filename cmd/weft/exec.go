package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/sandbox"
)

func newExecCmd(g *globals) *cobra.Command {
	var (
		timeout  time.Duration
		memory   string
		maxCalls int
		lang     string
		asJSON   bool
		allow    []string
	)
	cmd := &cobra.Command{
		Use:   "exec FILE|-",
		Short: "Run a code-mode program (TypeScript or JavaScript) whose tools.* calls go through weft",
		Long: `Run a program that is the body of an async function: top-level await and return
work, tools are async functions (await tools.<server>.<tool>({...})), and the
returned value is printed as JSON, with console output and the call log.
Exit 1 when the program fails.`,
		Args: exactArgs(1, "FILE (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var code []byte
			var err error
			if args[0] == "-" {
				code, err = io.ReadAll(cmd.InOrStdin())
			} else {
				code, err = os.ReadFile(args[0])
			}
			if err != nil {
				return usageErr("%v", err)
			}
			if lang == "" {
				lang = "ts"
				if ext := strings.ToLower(filepath.Ext(args[0])); ext == ".js" || ext == ".mjs" {
					lang = "js"
				}
			}
			if lang != "ts" && lang != "js" {
				return usageErr("--lang: %q: must be ts or js", lang)
			}
			mem, err := parseBytes(memory)
			if err != nil {
				return usageErr("--memory: %v", err)
			}
			if timeout < 0 || maxCalls < 0 {
				return usageErr("--timeout and --max-calls must not be negative")
			}
			o, err := g.orchestrator(cmd.Context())
			if err != nil {
				return err
			}
			defer o.Close()
			res, err := o.RunCode(cmd.Context(), sandbox.Request{
				Code: string(code), Language: sandbox.Language(lang), AllowedTools: allow,
				Limits: sandbox.Limits{Timeout: timeout, MemoryBytes: mem, MaxCalls: maxCalls},
			})
			if err != nil {
				return usageErr("%v", err)
			}
			w := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(w, res); err != nil {
					return err
				}
			} else {
				printRunResult(w, cmd.ErrOrStderr(), res)
			}
			if res.Error != nil {
				return failure("program failed: %s", res.Error.Error())
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "wall-clock limit (default 30s)")
	cmd.Flags().StringVar(&memory, "memory", "", "memory limit, e.g. 64MiB (default 64MiB)")
	cmd.Flags().IntVar(&maxCalls, "max-calls", 0, "maximum tool calls (default 100)")
	cmd.Flags().StringVar(&lang, "lang", "", "ts or js (default: from the file extension, else ts)")
	cmd.Flags().StringSliceVar(&allow, "allow", nil, "only these tools may be called (catalog names)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {result, console, calls, error, duration_ms} as JSON")
	return cmd
}

// printRunResult prints the result to w and console + call log to errw.
func printRunResult(w, errw io.Writer, res *sandbox.RunResult) {
	for _, l := range res.Console {
		fmt.Fprintf(errw, "console.%s: %s\n", l.Level, l.Text)
	}
	for _, c := range res.Calls {
		b, _ := json.Marshal(c)
		fmt.Fprintf(errw, "call: %s\n", b)
	}
	if res.Error == nil {
		fmt.Fprintln(w, prettyJSON(res.Result, ""))
	}
	fmt.Fprintf(errw, "duration: %s\n", res.Duration.Round(time.Microsecond))
}

// parseBytes parses "64MiB", "512KiB", "1GiB", "1048576" ("" = 0).
func parseBytes(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			var n int64
			if _, err := fmt.Sscanf(strings.TrimSuffix(s, u.suffix), "%d", &n); err != nil || n <= 0 {
				return 0, fmt.Errorf("%q: not a size (e.g. 64MiB)", s)
			}
			return n * u.mult, nil
		}
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != s {
		return 0, fmt.Errorf("%q: not a size (e.g. 64MiB)", s)
	}
	return n, nil
}
