package analytics

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/engine"
)

// promtool is Prometheus' promtool ($WEFT_TEST_PROMTOOL, else on PATH;
// scripts/test.sh installs Debian's prometheus package). Missing fails.
func promtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WEFT_TEST_PROMTOOL"); p != "" {
		return p
	}
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: set WEFT_TEST_PROMTOOL or install Debian's prometheus package (scripts/test.sh does)")
	}
	return p
}

// TestPromtoolCheckMetrics scrapes /metrics over HTTP after every kind of
// observation (tool calls, HTTP, plan runs and steps, sandbox runs and
// limit hits, model calls, limiter failures) and runs `promtool check
// metrics` on it: no lint problem. It also checks the series are there.
func TestPromtoolCheckMetrics(t *testing.T) {
	tool := promtool(t)
	p := NewPrometheus(PrometheusOptions{Calls: true})
	p.Record(engine.Event{Tool: "s__t", Server: "s", Caller: "rest", Duration: 3 * time.Millisecond, Outcome: engine.OutcomeOK, Bytes: 10})
	p.Record(engine.Event{Tool: "s__t", Server: "s", Caller: "mcp", Duration: time.Second, Outcome: engine.OutcomeError, Code: engine.CodeTimeout})
	p.ObserveHTTP("GET /v1/tools", "GET", 200, time.Millisecond)
	p.PlanRun("succeeded", 2*time.Second)
	p.PlanStep("succeeded", 10*time.Millisecond)
	p.SandboxRun("ok", 5*time.Millisecond)
	p.SandboxRun("memory", 50*time.Millisecond)
	p.ModelCall("planner", "plan", true, 100, 20, 30)
	p.RateLimiterFailure(true)
	p.SearchDegraded()
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`weft_tool_calls_total{caller="mcp",code="timeout",outcome="error",server="s",tool="s__t"} 1`,
		`weft_plan_runs_total{status="succeeded"} 1`,
		`weft_plan_step_duration_seconds_count{status="succeeded"} 1`,
		`weft_sandbox_runs_total{outcome="memory"} 1`,
		`weft_sandbox_limit_hits_total{limit="memory"} 1`,
		`weft_sandbox_run_duration_seconds_count{outcome="ok"} 1`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cmd := exec.Command(tool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestPrometheusWithoutCallsBackend: without the prometheus backend the
// analytics series are not exposed; the operational ones are.
func TestPrometheusWithoutCallsBackend(t *testing.T) {
	p := NewPrometheus(PrometheusOptions{})
	p.Record(engine.Event{Tool: "s__t", Server: "s", Outcome: engine.OutcomeOK})
	p.SandboxRun("ok", time.Millisecond)
	p.ObserveHTTP("GET /v1/tools", "GET", 200, time.Millisecond)
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	out := w.Body.String()
	for _, absent := range []string{"weft_tool_calls_total", "weft_sandbox_runs_total", "weft_plan_runs_total"} {
		if strings.Contains(out, absent) {
			t.Errorf("/metrics has %s without the prometheus backend", absent)
		}
	}
	if !strings.Contains(out, "weft_http_request_duration_seconds_count") || !strings.Contains(out, "go_goroutines") {
		t.Error("/metrics lacks the operational metrics")
	}
}
