package analytics

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/internal/testenv"
)

// otlpJSON is the part of the OTLP JSON metrics encoding the test reads.
type otlpJSON struct {
	ResourceMetrics []struct {
		Resource struct {
			Attributes []otlpAttr `json:"attributes"`
		} `json:"resource"`
		ScopeMetrics []struct {
			Metrics []struct {
				Name string `json:"name"`
				Sum  *struct {
					DataPoints []struct {
						Attributes []otlpAttr `json:"attributes"`
						AsInt      string     `json:"asInt"`
					} `json:"dataPoints"`
				} `json:"sum"`
				Histogram *struct {
					DataPoints []struct {
						Attributes []otlpAttr `json:"attributes"`
						Count      string     `json:"count"`
					} `json:"dataPoints"`
				} `json:"histogram"`
			} `json:"metrics"`
		} `json:"scopeMetrics"`
	} `json:"resourceMetrics"`
}

type otlpAttr struct {
	Key   string `json:"key"`
	Value struct {
		StringValue string `json:"stringValue"`
	} `json:"value"`
}

func attrs(as []otlpAttr) map[string]string {
	m := map[string]string{}
	for _, a := range as {
		m[a.Key] = a.Value.StringValue
	}
	return m
}

// TestOTLPPushToCollector pushes the analytics metrics to a real
// OpenTelemetry Collector OTLP receiver: the bearer token, the resource
// (service.name, service.instance.id) and every instrument with its
// attributes arrive.
func TestOTLPPushToCollector(t *testing.T) {
	col := testenv.OTelCollector(t)
	ctx := context.Background()
	x, err := NewOTLP(ctx, OTLPOptions{URL: col.Endpoint + "/v1/metrics", InstanceID: "replica-a",
		Headers: map[string]string{"Authorization": "Bearer s3cret"}, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	x.Record(engine.Event{Tool: "s__t", Server: "s", Caller: "rest", Duration: 2 * time.Millisecond, Outcome: engine.OutcomeOK})
	x.Record(engine.Event{Tool: "s__t", Server: "s", Caller: "rest", Duration: 3 * time.Millisecond, Outcome: engine.OutcomeOK})
	x.Record(engine.Event{Outcome: engine.OutcomeError, Code: engine.CodeUnknownTool})
	x.PlanRun("failed", time.Second)
	x.PlanStep("succeeded", time.Millisecond)
	x.SandboxRun("timeout", 30*time.Second)
	// Close pushes the last values (the interval is an hour).
	if err := x.Close(ctx); err != nil {
		t.Fatal(err)
	}
	bs := col.Wait(t, 30*time.Second, func(bs []testenv.CollectorBatch) bool { return len(bs) > 0 })
	b := bs[0]
	if b.Signal != "metrics" || b.Authorization != "Bearer s3cret" {
		t.Fatalf("batch %s with Authorization %q", b.Signal, b.Authorization)
	}
	var doc otlpJSON
	if err := json.Unmarshal(b.Data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.ResourceMetrics) != 1 {
		t.Fatalf("%d resources", len(doc.ResourceMetrics))
	}
	rm := doc.ResourceMetrics[0]
	res := attrs(rm.Resource.Attributes)
	if res["service.name"] != "weft" || res["service.instance.id"] != "replica-a" {
		t.Errorf("resource %v", res)
	}
	got := map[string]string{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch {
			case m.Sum != nil:
				for _, dp := range m.Sum.DataPoints {
					a := attrs(dp.Attributes)
					got[m.Name+"{"+a["tool"]+a["status"]+a["outcome"]+a["limit"]+"}"] = dp.AsInt
				}
			case m.Histogram != nil:
				for _, dp := range m.Histogram.DataPoints {
					a := attrs(dp.Attributes)
					got[m.Name+"{"+a["tool"]+a["status"]+a["outcome"]+"}"] = dp.Count
				}
			}
		}
	}
	want := map[string]string{
		"weft.tool.calls{s__tok}":            "2",
		"weft.tool.calls{unknownerror}":      "1",
		"weft.tool.call.duration{s__tok}":    "2",
		"weft.plan.runs{failed}":             "1",
		"weft.plan.run.duration{failed}":     "1",
		"weft.plan.step.duration{succeeded}": "1",
		"weft.sandbox.runs{timeout}":         "1",
		"weft.sandbox.run.duration{timeout}": "1",
		"weft.sandbox.limit_hits{timeout}":   "1",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (got %s)", k, got[k], v, strings.Join(keys(got), ", "))
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
