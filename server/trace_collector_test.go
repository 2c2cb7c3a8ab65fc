package server_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/server"
)

// TestTraceToCollector: with telemetry.tracing configured, the spans of a
// REST tools/call reach a real OpenTelemetry Collector's OTLP receiver,
// with the token as bearer and the service name, by the time weft is
// closed.
func TestTraceToCollector(t *testing.T) {
	col := testenv.OTelCollector(t)
	up := &tracedUpstream{}
	uhs := httptest.NewServer(up.handler())
	defer uhs.Close()
	cfg := config.Default()
	cfg.Cache.Dir = t.TempDir()
	cfg.Servers = map[string]*config.Server{"up": {Name: "up", Transport: config.TransportHTTP, URL: uhs.URL}}
	cfg.Telemetry.Tracing = config.Tracing{Enabled: true, Endpoint: col.Endpoint, Token: "col-token",
		Sampler: config.SamplerAlways, Ratio: 1, ServiceName: "weft-collector-test"}
	o, err := weft.New(weft.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(o, server.Options{}))
	defer hs.Close()
	if code, _, body := do(t, "POST", hs.URL+"/v1/tools/up__echo/call", `{"text":"hi"}`); code != 200 {
		t.Fatalf("status %d: %v", code, body)
	}
	hs.Close()
	if err := o.Close(); err != nil { // flushes the spans
		t.Fatal(err)
	}
	has := func(bs []testenv.CollectorBatch, s string) bool {
		for _, b := range bs {
			if b.Signal == "traces" && strings.Contains(string(b.Data), s) {
				return true
			}
		}
		return false
	}
	bs := col.Wait(t, 30*time.Second, func(bs []testenv.CollectorBatch) bool {
		return has(bs, `"execute_tool up__echo"`) && has(bs, `"tools/call echo"`) && has(bs, `"POST /v1/tools/{name}/call"`)
	})
	if !has(bs, `"weft-collector-test"`) {
		t.Errorf("no service.name weft-collector-test in the traces received")
	}
	for _, b := range bs {
		if b.Signal == "traces" && b.Authorization != "Bearer col-token" {
			t.Errorf("traces export with Authorization %q, want the configured token", b.Authorization)
		}
	}
	if meta, _ := up.seen(); len(meta) != 1 || !strings.HasPrefix(meta[0], "00-") {
		t.Errorf("upstream _meta traceparent %q", meta)
	}
}
