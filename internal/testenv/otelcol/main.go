// Command otelcol runs the OpenTelemetry Collector's OTLP receiver
// (go.opentelemetry.io/collector/receiver/otlpreceiver) on a loopback
// address over OTLP/HTTP and writes each metrics or traces batch it
// receives to stdout as one JSON line:
//
//	{"signal":"metrics","authorization":"Bearer …","data":<OTLP JSON>}
//
// It first prints "listening <host:port>" on a line of its own. weft's tests
// start it through internal/testenv.OTelCollector.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

func main() {
	addr := flag.String("addr", "", "host:port to listen on (default: a free loopback port)")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "otelcol:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	if addr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("pick a port: %w", err)
		}
		addr = l.Addr().String()
		l.Close()
	}
	out := &writer{w: bufio.NewWriter(os.Stdout)}
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	conf := confmap.NewFromStringMap(map[string]any{
		"protocols": map[string]any{
			"http": map[string]any{"endpoint": addr, "include_metadata": true},
		},
	})
	if err := conf.Unmarshal(cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	ctx := context.Background()
	set := receivertest.NewNopSettings(f.Type())
	metrics, err := consumer.NewMetrics(func(ctx context.Context, md pmetric.Metrics) error {
		b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
		if err != nil {
			return err
		}
		return out.line(ctx, "metrics", b)
	})
	if err != nil {
		return err
	}
	traces, err := consumer.NewTraces(func(ctx context.Context, td ptrace.Traces) error {
		b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		if err != nil {
			return err
		}
		return out.line(ctx, "traces", b)
	})
	if err != nil {
		return err
	}
	// The factory shares one receiver between signals for one config.
	mr, err := f.CreateMetrics(ctx, set, cfg, metrics)
	if err != nil {
		return fmt.Errorf("metrics receiver: %w", err)
	}
	tr, err := f.CreateTraces(ctx, set, cfg, traces)
	if err != nil {
		return fmt.Errorf("traces receiver: %w", err)
	}
	host := componenttest.NewNopHost()
	if err := mr.Start(ctx, host); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if err := tr.Start(ctx, host); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	fmt.Fprintf(os.Stdout, "listening %s\n", addr)
	os.Stdout.Sync()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	tr.Shutdown(ctx)
	return mr.Shutdown(ctx)
}

// writer serializes JSON lines to stdout.
type writer struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (w *writer) line(ctx context.Context, signal string, data []byte) error {
	auth := strings.Join(client.FromContext(ctx).Metadata.Get("authorization"), ",")
	b, err := json.Marshal(struct {
		Signal        string          `json:"signal"`
		Authorization string          `json:"authorization,omitempty"`
		Data          json.RawMessage `json:"data"`
	}{signal, auth, data})
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.w.Write(append(b, '\n'))
	return w.w.Flush()
}
