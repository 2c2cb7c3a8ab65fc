// Command search benchmarks weft's tool search: latency, build time and heap
// on synthetic catalogs (-mode latency), quality and latency side by side
// with bleve and the plain-BM25 reference on the toolbench dev sets
// (-mode compare), and hybrid fusion methods with a stand-in embedder
// (-mode fusion). See docs/benchmarks.md for results and commands.
//
// It is a module of its own (bleve stays out of weft's requirements); run it
// from its folder: cd bench/search && go run . -mode compare
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

func main() {
	mode := flag.String("mode", "latency", "latency | compare | fusion")
	sizes := flag.String("tools", "1000,10000,100000", "latency: catalog sizes")
	queries := flag.Int("queries", 5000, "latency: queries per size")
	builds := flag.Int("builds", 5, "latency: index builds per size (median reported)")
	data := flag.String("data", "../../../shared/toolbench-data", "compare/fusion: toolbench data folder (default: the project workspace's, from bench/search)")
	procs := flag.Int("procs", 1, "GOMAXPROCS (1 = one core)")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	ctx := context.Background()
	var err error
	switch *mode {
	case "latency":
		var ns []int
		for _, s := range strings.Split(*sizes, ",") {
			n, perr := strconv.Atoi(strings.TrimSpace(s))
			if perr != nil || n <= 0 {
				fmt.Fprintf(os.Stderr, "bad -tools entry %q\n", s)
				os.Exit(2)
			}
			ns = append(ns, n)
		}
		err = runLatency(ctx, os.Stdout, ns, *queries, *builds)
	case "compare":
		err = runCompare(ctx, os.Stdout, *data)
	case "fusion":
		err = runFusion(ctx, os.Stdout, *data)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "search bench:", err)
		os.Exit(1)
	}
}
