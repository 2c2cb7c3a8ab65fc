package eval

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Report is the outcome of Run. Its JSON form is the machine-readable
// report (`weft eval search --json`).
type Report struct {
	// Dataset is the data set's folder name (the key of a baseline file).
	Dataset string `json:"dataset"`
	// Dir is the folder as given.
	Dir string `json:"dir"`
	// Split is the query split measured: dev, test or all.
	Split string `json:"split"`
	// Engine names the retriever measured.
	Engine string `json:"engine"`
	// Tools is the number of distinct tools indexed.
	Tools int `json:"tools"`
	// Queries is the number of queries measured, failed ones included.
	Queries int `json:"queries"`
	// Failed lists the queries the engine returned an error for; each
	// counts as a miss in every metric.
	Failed []FailedQuery `json:"failed,omitempty"`
	// MissingRelevant counts relevance labels naming no tool in the set.
	MissingRelevant int `json:"missing_relevant,omitempty"`
	// Recall maps each cutoff k to the mean Recall@k.
	Recall map[int]float64 `json:"recall"`
	// NDCG10 is the mean nDCG@10 (binary relevance).
	NDCG10 float64 `json:"ndcg_at_10"`
	// MRR10 is the mean reciprocal rank of the first relevant tool in the top 10.
	MRR10 float64 `json:"mrr_at_10"`
	// LatencyP50 is the median latency of the queries that succeeded.
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	// LatencyP99 is the 99th-percentile latency of the queries that succeeded.
	LatencyP99 time.Duration `json:"latency_p99_ns"`
	// BuildTime is the time to build the index over all tools.
	BuildTime time.Duration `json:"build_time_ns"`
}

// FailedQuery is a query the engine answered with an error.
type FailedQuery struct {
	// ID is the query's id in queries.jsonl.
	ID string `json:"id"`
	// Chars is the length of the query text in characters.
	Chars int `json:"chars"`
	// Error is the engine's error message.
	Error string `json:"error"`
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
	for _, f := range r.Failed {
		line += fmt.Sprintf("  FAILED     query %s (%d characters), counted as a miss: %s\n", f.ID, f.Chars, f.Error)
	}
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
