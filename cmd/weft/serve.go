package main

import (
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/server"
)

func newServeCmd(g *globals) *cobra.Command {
	var addr, pprofAddr string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the REST API, health endpoints and MCP endpoint over HTTP",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if addr != "" {
				if _, _, err := net.SplitHostPort(addr); err != nil {
					return usageErr("--addr: %q: not host:port (e.g. 127.0.0.1:8080)", addr)
				}
				cfg.Server.Addr = addr
			}
			if len(cfg.Gateway.APIKeys) == 0 && !insecure && !loopback(cfg.Server.Addr) {
				return usageErr("refusing to serve on %s without authentication: configure gateway.api_keys, listen on a loopback address, or pass --insecure", cfg.Server.Addr)
			}
			log := logger(cfg)
			if len(cfg.Gateway.APIKeys) == 0 && !loopback(cfg.Server.Addr) {
				// --insecure: anyone who reaches the address is the operator.
				log.Warn("serving without API keys on a non-loopback address: every client is trusted; requests are answered only under an IP address or a name in server.allowed_hosts (DNS-rebinding protection)",
					"addr", cfg.Server.Addr, "allowed_hosts", cfg.Server.AllowedHosts)
			}
			if cfg.Server.GCPercent > 0 {
				debug.SetGCPercent(cfg.Server.GCPercent)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()

			o, err := weft.New(weft.Options{Config: cfg, Logger: log})
			if err != nil {
				return usageErr("%v", err)
			}
			defer func() {
				if err := o.Close(); err != nil {
					log.Warn("closing upstreams", "err", err)
				}
				log.Info("stopped")
			}()
			if pprofAddr != "" {
				if !loopback(pprofAddr) {
					return usageErr("--pprof: %q: must be a loopback address (profiles expose internals)", pprofAddr)
				}
				stopProf, err := servePprof(pprofAddr)
				if err != nil {
					return failure("--pprof: %v", err)
				}
				defer stopProf()
				log.Info("pprof listening", "addr", pprofAddr)
			}
			// Listen first so /healthz answers while upstreams start.
			ln, err := net.Listen("tcp", cfg.Server.Addr)
			if err != nil {
				return failure("listen on %s: %v", cfg.Server.Addr, err)
			}
			srv := server.New(o, server.Options{MaxBodyBytes: cfg.Server.MaxBodyBytes, ShutdownTimeout: cfg.Server.ShutdownTimeout.D(), Logger: log})
			errc := make(chan error, 1)
			go func() {
				errc <- srv.Serve(ctx, ln, func(a net.Addr) { log.Info("listening", "addr", a.String()) })
			}()
			begin := time.Now()
			if err := o.Start(ctx); err != nil && ctx.Err() == nil {
				return failure("start: %v", err)
			}
			rd := o.Readiness()
			log.Info("catalog ready", "tools", rd.Tools, "from_cache", rd.FromCache, "ready", rd.Ready, "took", time.Since(begin).Round(time.Millisecond))
			if err := <-errc; err != nil {
				return failure("%v", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address host:port (default: config server.addr / $WEFT_ADDR)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "allow a non-loopback address without API keys")
	cmd.Flags().StringVar(&pprofAddr, "pprof", "", "serve Go profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060")
	return cmd
}

// loopback reports whether addr listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
