package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
)

func newCallCmd(g *globals) *cobra.Command {
	var argsJSON, argsFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "call NAME [--args JSON | --args-file FILE]",
		Short: "Call one tool and print its result (exit 1 on a tool error)",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readArgs(argsJSON, argsFile, cmd.InOrStdin())
			if err != nil {
				return err
			}
			name := args[0]
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
			res, err := o.Call(cmd.Context(), name, raw, weft.CallerCLI)
			if err != nil {
				var ee *engine.Error
				if errors.As(err, &ee) {
					if ee.Code == engine.CodeUnknownTool || ee.Code == engine.CodeInvalidArguments {
						return usageErr("%v", err)
					}
				}
				return failure("%v", err)
			}
			w := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(w, res); err != nil {
					return err
				}
			} else if len(res.StructuredContent) > 0 {
				fmt.Fprintln(w, prettyJSON(res.StructuredContent, ""))
			} else if text := res.Text(); text != "" || len(res.Content) == 0 {
				fmt.Fprintln(w, text)
			} else {
				if err := writeJSON(w, res.Content); err != nil {
					return err
				}
			}
			if res.IsError {
				return failure("tool %s reported an error", name)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&argsJSON, "args", "", `arguments as a JSON object, e.g. '{"message":"hi"}'`)
	cmd.Flags().StringVar(&argsFile, "args-file", "", "file holding the arguments JSON object (- for stdin)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole MCP result as JSON")
	return cmd
}

// readArgs returns the arguments object from --args or --args-file, checked
// to be a JSON object.
func readArgs(argsJSON, argsFile string, stdin io.Reader) (json.RawMessage, error) {
	if argsJSON != "" && argsFile != "" {
		return nil, usageErr("--args and --args-file cannot be combined")
	}
	var raw []byte
	where := "--args"
	switch {
	case argsFile == "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, usageErr("--args-file -: %v", err)
		}
		raw, where = b, "--args-file -"
	case argsFile != "":
		b, err := os.ReadFile(argsFile)
		if err != nil {
			return nil, usageErr("--args-file: %v", err)
		}
		raw, where = b, argsFile
	case argsJSON != "":
		raw = []byte(argsJSON)
	default:
		return json.RawMessage("{}"), nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, usageErr("%s: not valid JSON: %v", where, err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, usageErr("%s: arguments must be a JSON object, e.g. '{\"message\":\"hi\"}'", where)
	}
	return raw, nil
}
