package main

import (
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/plan"
)

func TestRenderTimeline(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	run := &plan.Run{ID: "r1", Name: "demo", Status: plan.RunFailed, Started: t0, Finished: t0.Add(100 * time.Millisecond), Error: "1 step(s) failed: b",
		Steps: []*plan.StepRecord{
			{ID: "a", Status: plan.StepSucceeded, Started: t0, Finished: t0.Add(50 * time.Millisecond), Attempts: []plan.Attempt{{Number: 1}}},
			{ID: "b", Status: plan.StepFailed, Started: t0.Add(50 * time.Millisecond), Finished: t0.Add(100 * time.Millisecond),
				Error: &plan.StepError{Code: "tool_error", Message: "it broke\nsecond line"}, Attempts: []plan.Attempt{{Number: 1}}},
			{ID: "c", Status: plan.StepSkipped, Reason: plan.ReasonDependencyFailed + ": b"},
		}}
	var b strings.Builder
	if err := renderTimeline(&b, run, 10); err != nil {
		t.Fatal(err)
	}
	want := "run r1  plan demo  failed in 100ms\n" +
		"  1 step(s) failed: b\n" +
		"step  status         start     took  try  timeline\n" +
		"a     succeeded         0s     50ms    1  |█████     |\n" +
		"b     failed          50ms     50ms    1  |     █████|  tool_error: it broke\n" +
		"c     skipped            -        -    0  |          |  dependency failed: b\n"
	if b.String() != want {
		t.Errorf("timeline:\n%s\nwant:\n%s", b.String(), want)
	}
	ev := formatEvent(plan.Event{Type: plan.EventStepFinished, Step: "b", Time: t0.Add(100 * time.Millisecond), Status: "failed",
		Error: &plan.StepError{Code: "tool_error", Message: "it broke"}}, t0)
	if ev != "   100ms  ✗ b failed (tool_error: it broke)" {
		t.Errorf("event line %q", ev)
	}
}
