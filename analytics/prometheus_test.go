package analytics

import (
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/engine"
)

// TestLabelsBounded: tool label values are catalog names up to
// MaxToolLabels ("unknown" for calls that matched no tool, "other" beyond
// the cap), and method labels are the standard methods or "OTHER".
func TestLabelsBounded(t *testing.T) {
	p := NewPrometheus(PrometheusOptions{Calls: true})
	for i := range MaxToolLabels + 100 {
		p.Record(engine.Event{Tool: "s__t" + strconv.Itoa(i), Server: "s", Outcome: engine.OutcomeOK})
	}
	for range 3 {
		p.Record(engine.Event{Outcome: engine.OutcomeError, Code: engine.CodeUnknownTool})
	}
	p.Record(engine.Event{Tool: "s__t0", Server: "s", Outcome: engine.OutcomeOK})
	p.ObserveHTTP("unmatched", "BREW", 405, time.Millisecond)
	p.ObserveHTTP("GET /v1/tools", "GET", 200, time.Millisecond)
	p.ObserveHTTP("GET /v1/tools", "GET", 200, 2*time.Millisecond)
	p.ObserveHTTP("GET /v1/tools", "GET", 404, time.Millisecond)
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(w.Body)
	out := string(b)
	for _, want := range []string{
		`weft_tool_calls_total{caller="",code="",outcome="ok",server="s",tool="s__t0"} 2`,
		`weft_tool_calls_total{caller="",code="",outcome="ok",server="s",tool="other"} 100`,
		`weft_tool_calls_total{caller="",code="unknown_tool",outcome="error",server="none",tool="unknown"} 3`,
		`weft_http_request_duration_seconds_count{method="OTHER",route="unmatched",status="405"} 1`,
		`weft_http_request_duration_seconds_count{method="GET",route="GET /v1/tools",status="200"} 2`,
		`weft_http_request_duration_seconds_sum{method="GET",route="GET /v1/tools",status="200"} 0.003`,
		`weft_http_request_duration_seconds_count{method="GET",route="GET /v1/tools",status="404"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if n := strings.Count(out, "weft_tool_calls_total{"); n != MaxToolLabels+2 {
		t.Errorf("%d tool series, want %d", n, MaxToolLabels+2)
	}
}
