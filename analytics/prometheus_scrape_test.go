package analytics

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/engine"
)

// TestPrometheusScrapesMetrics runs a real Prometheus server (Debian's
// prometheus package, beside promtool) that scrapes weft's /metrics handler
// and answers a query over a series weft exported: the exposition is one a
// Prometheus server ingests, labels and all, not only one promtool lints.
func TestPrometheusScrapesMetrics(t *testing.T) {
	bin := filepath.Join(filepath.Dir(promtool(t)), "prometheus")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the prometheus server is not beside promtool (%v): install Debian's prometheus package (scripts/test.sh does)", err)
	}
	p := NewPrometheus(PrometheusOptions{Calls: true})
	p.Record(engine.Event{Tool: "s__t", Server: "s", Caller: "rest", Duration: 3 * time.Millisecond, Outcome: engine.OutcomeOK})
	p.Record(engine.Event{Tool: "s__t", Server: "s", Caller: "rest", Duration: 4 * time.Millisecond, Outcome: engine.OutcomeOK})
	weft := httptest.NewServer(p.Handler())
	defer weft.Close()

	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	target := strings.TrimPrefix(weft.URL, "http://")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: weft
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
`, target)), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	query := "http://" + addr + "/api/v1/query?query=" + url.QueryEscape(`weft_tool_calls_total{job="weft",tool="s__t",outcome="ok"}`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if v, ok := queryValue(query); ok {
			if v != "2" {
				t.Fatalf("weft_tool_calls_total as Prometheus scraped it = %s, want 2", v)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus had not scraped weft_tool_calls_total within 60s\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// queryValue runs an instant query and returns the value of its single
// sample, if there is exactly one.
func queryValue(u string) (string, bool) {
	resp, err := http.Get(u)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&r) != nil || r.Status != "success" || len(r.Data.Result) != 1 {
		return "", false
	}
	v, _ := r.Data.Result[0].Value[1].(string)
	return v, true
}
