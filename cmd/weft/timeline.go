package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weft-dev/weft/plan"
)

// renderTimeline writes a run's per-step timeline as text: one row per
// step (nested plan steps indented) with status, start offset, duration,
// attempts and a bar of width columns placing the step in the run's
// timespan, so what ran in parallel is visible. width <= 0 means 40.
func renderTimeline(w io.Writer, r *plan.Run, width int) error {
	if width <= 0 {
		width = 40
	}
	end := r.Finished
	if end.IsZero() {
		end = time.Now()
	}
	span := end.Sub(r.Started)
	if span <= 0 {
		span = time.Millisecond
	}
	name := r.Name
	if name == "" {
		name = "(unnamed)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "run %s  plan %s  %s", r.ID, name, r.Status)
	if !r.Finished.IsZero() {
		fmt.Fprintf(&b, " in %s", roundDur(r.Duration()))
	}
	b.WriteString("\n")
	if r.Error != "" {
		fmt.Fprintf(&b, "  %s\n", r.Error)
	}
	rows := flatten(r.Steps, "")
	idw := len("step")
	for _, row := range rows {
		idw = max(idw, len(row.label))
	}
	fmt.Fprintf(&b, "%-*s  %-11s %8s %8s %4s  %s\n", idw, "step", "status", "start", "took", "try", "timeline")
	for _, row := range rows {
		rec := row.rec
		start, took := "-", "-"
		bar := strings.Repeat(" ", width)
		if !rec.Started.IsZero() {
			off := rec.Started.Sub(r.Started)
			start = roundDur(off).String()
			stop := rec.Finished
			if stop.IsZero() {
				stop = end
			} else {
				took = roundDur(rec.Duration()).String()
			}
			a := int(float64(off) / float64(span) * float64(width))
			z := int(float64(stop.Sub(r.Started)) / float64(span) * float64(width))
			a = min(max(a, 0), width-1)
			z = min(max(z, a+1), width)
			bar = strings.Repeat(" ", a) + strings.Repeat("█", z-a) + strings.Repeat(" ", width-z)
		}
		status := string(rec.Status)
		if rec.Reused != "" {
			status += "*"
		}
		fmt.Fprintf(&b, "%-*s  %-11s %8s %8s %4d  |%s|", idw, row.label, status, start, took, rec.AttemptCount(), bar)
		if note := stepNote(rec); note != "" {
			b.WriteString("  " + note)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type timelineRow struct {
	label string
	rec   *plan.StepRecord
}

func flatten(recs []*plan.StepRecord, indent string) []timelineRow {
	var out []timelineRow
	for _, r := range recs {
		label := indent + r.ID
		if len(r.Items) > 0 {
			label += fmt.Sprintf(" ×%d", len(r.Items))
		}
		out = append(out, timelineRow{label: label, rec: r})
		out = append(out, flatten(r.Steps, indent+"  ")...)
	}
	return out
}

func stepNote(r *plan.StepRecord) string {
	switch {
	case r.Error != nil:
		return r.Error.Code + ": " + firstLine(r.Error.Message, 100)
	case r.Reason != "":
		return r.Reason
	case r.Reused == "cache":
		return "(*) reused a stored result"
	case r.Reused == "in_flight":
		return "(*) shared an in-flight result"
	}
	return ""
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// formatEvent renders a progress event as one line for a live view
// ("weft run --watch"): time since start, step, what happened.
func formatEvent(e plan.Event, runStart time.Time) string {
	at := roundDur(e.Time.Sub(runStart))
	switch e.Type {
	case plan.EventRunStarted:
		return fmt.Sprintf("%8s  run %s started", at, e.RunID)
	case plan.EventStepStarted:
		return fmt.Sprintf("%8s  ▶ %s", at, e.Step)
	case plan.EventStepRetry:
		return fmt.Sprintf("%8s  ↻ %s attempt %d failed (%s: %s); retrying in %s", at, e.Step, e.Attempt, e.Error.Code, firstLine(e.Error.Message, 100), roundDur(e.Delay.D()))
	case plan.EventStepFinished:
		line := fmt.Sprintf("%8s  %s %s %s", at, statusMark(e.Status), e.Step, e.Status)
		if e.Error != nil {
			line += fmt.Sprintf(" (%s: %s)", e.Error.Code, firstLine(e.Error.Message, 100))
		} else if e.Reason != "" {
			line += " (" + e.Reason + ")"
		}
		return line
	case plan.EventRunFinished:
		line := fmt.Sprintf("%8s  run %s", at, e.Status)
		if e.Reason != "" {
			line += ": " + e.Reason
		}
		return line
	}
	return fmt.Sprintf("%8s  %s %s", at, e.Type, e.Step)
}

func statusMark(s string) string {
	switch plan.StepStatus(s) {
	case plan.StepSucceeded:
		return "✓"
	case plan.StepFailed:
		return "✗"
	case plan.StepSkipped:
		return "–"
	case plan.StepCanceled:
		return "⊘"
	}
	return "·"
}
