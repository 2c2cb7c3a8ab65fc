package search

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Report is the outcome of Evaluate. Its JSON form is the machine-readable
// report (`weft eval search --json`).
type Report struct {
	Dataset string `json:"dataset"`
	Dir     string `json:"dir"`
	Split   string `json:"split"`
	Engine  string `json:"engine"`
	Tools   int    `json:"tools"`
	Queries int    `json:"queries"`
	// MissingRelevant counts relevance labels naming no tool in the set.
	MissingRelevant int `json:"missing_relevant,omitempty"`
	// Recall maps each cutoff k to the mean Recall@k.
	Recall map[int]float64 `json:"recall"`
	NDCG10 float64         `json:"ndcg_at_10"`
	MRR10  float64         `json:"mrr_at_10"`
	// LatencyP50 and LatencyP99 are per-query latency percentiles.
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
	// BuildTime is the time to build the index over all tools.
	BuildTime time.Duration `json:"build_time_ns"`
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) error {
	ks := make([]int, 0, len(r.Recall))
	for k := range r.Recall {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	_, err := fmt.Fprintf(w, "%s (%s split, %d tools, %d queries) — engine %s\n", r.Dataset, r.Split, r.Tools, r.Queries, r.Engine)
	if err != nil {
		return err
	}
	line := ""
	for _, k := range ks {
		line += fmt.Sprintf("  Recall@%-3s %.3f\n", strconv.Itoa(k), r.Recall[k])
	}
	line += fmt.Sprintf("  nDCG@10    %.3f\n  MRR@10     %.3f\n", r.NDCG10, r.MRR10)
	line += fmt.Sprintf("  latency    p50 %s  p99 %s\n  build      %s\n", fmtDur(r.LatencyP50), fmtDur(r.LatencyP99), fmtDur(r.BuildTime))
	if r.MissingRelevant > 0 {
		line += fmt.Sprintf("  note       %d relevance labels name no tool in the set\n", r.MissingRelevant)
	}
	_, err = io.WriteString(w, line)
	return err
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
