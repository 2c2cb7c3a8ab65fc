package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

func newHealthCmd(g *globals) *cobra.Command {
	var ready bool
	var rawURL string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Probe a running weft serve (/healthz, or /readyz with --ready); exit 1 when it is not healthy",
		Long: `weft health asks the weft serve of this configuration (server.addr / WEFT_ADDR,
on loopback when it listens on every interface) for /healthz, or /readyz with
--ready, and exits 0 on 200, 1 otherwise. It is the image's HEALTHCHECK: a
static image has no curl.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/healthz"
			if ready {
				path = "/readyz"
			}
			if rawURL == "" {
				cfg, err := g.loadConfig()
				if err != nil {
					return err
				}
				host, port, err := net.SplitHostPort(cfg.Server.Addr)
				if err != nil {
					return usageErr("server.addr %q: not host:port", cfg.Server.Addr)
				}
				if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
					host = "127.0.0.1"
				}
				rawURL = "http://" + net.JoinHostPort(host, port) + path
			}
			client := &http.Client{Timeout: timeout}
			resp, err := client.Get(rawURL)
			if err != nil {
				return failure("%s: %v", rawURL, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if resp.StatusCode != http.StatusOK {
				return failure("%s: %s %s", rawURL, resp.Status, body)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s", body)
			return nil
		},
	}
	cmd.Flags().BoolVar(&ready, "ready", false, "probe /readyz instead of /healthz")
	cmd.Flags().StringVar(&rawURL, "url", "", "probe this URL instead (e.g. http://127.0.0.1:8080/healthz)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "bound of the probe")
	return cmd
}
