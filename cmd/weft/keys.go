package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/server"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Create and hash API keys for gateway.api_keys"}
	cmd.AddCommand(&cobra.Command{
		Use:   "new NAME",
		Short: "Generate a random API key; prints the key (give it to the client) and the config entry (store it)",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return failure("%v", err)
			}
			key := "wft_" + base64.RawURLEncoding.EncodeToString(b)
			fmt.Fprintf(cmd.OutOrStdout(), "key: %s\n\nweft.yaml:\ngateway:\n  api_keys:\n    - name: %s\n      hash: %q\n", key, args[0], server.HashKey(key))
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "hash [KEY]",
		Short: "Print the sha256: hash of a key (read from stdin when not given)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var key string
			if len(args) == 1 {
				key = args[0]
			} else {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return usageErr("no key on stdin")
				}
				key = strings.TrimSpace(line)
			}
			if key == "" {
				return usageErr("the key is empty")
			}
			fmt.Fprintln(cmd.OutOrStdout(), server.HashKey(key))
			return nil
		},
	})
	return cmd
}
