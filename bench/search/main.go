// Command search benchmarks weft's tool search: latency, build time and heap
// on synthetic catalogs (-mode latency), quality and latency side by side
// with bleve and the plain-BM25 reference on the toolbench dev sets
// (-mode compare), and hybrid fusion methods with a stand-in embedder
// (-mode fusion). See docs/benchmarks.md for results and commands.
//
// It is a module of its own (bleve stays out of weft's requirements); run it
// from its folder: cd bench/search && go run . -mode compare. With -json,
// compare mode prints its result as JSON for scripts (bench/compare.sh):
// cd bench/search && go run . -json
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
	mode := flag.String("mode", "", "latency | compare | fusion | tune (default latency; compare with -json)")
	asJSON := flag.Bool("json", false, "compare: print the result as JSON (implies -mode compare when -mode is not given)")
	exp := flag.String("exp", "", "tune: experiments to run, by comma-separated name prefixes (default all)")
	folds := flag.Int("folds", 2, "tune: folds of each set's queries")
	bleves := flag.String("bleve", "bleve,bleve-bm25,bleve-bm25-fields", "compare: bleve variants to run, comma-separated (bleve, the default, always runs)")
	passes := flag.Int("passes", 5, "compare: times each set's queries are run for the latency percentiles")
	sizes := flag.String("tools", "1000,10000,100000", "latency: catalog sizes")
	queries := flag.Int("queries", 5000, "latency: queries per size")
	builds := flag.Int("builds", 5, "latency: index builds per size (median reported)")
	data := flag.String("data", "../../../shared/toolbench-data", "compare/fusion: toolbench data folder (default: the project workspace's, from bench/search)")
	procs := flag.Int("procs", 1, "GOMAXPROCS (1 = one core)")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	ctx := context.Background()
	if *mode == "" {
		*mode = "latency"
		if *asJSON {
			*mode = "compare"
		}
	}
	if *asJSON && *mode != "compare" {
		fmt.Fprintf(os.Stderr, "-json is for -mode compare only, not %q\n", *mode)
		os.Exit(2)
	}
	if *passes < 1 {
		fmt.Fprintf(os.Stderr, "-passes is %d; use 1 or more\n", *passes)
		os.Exit(2)
	}
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
		var res *compareResult
		variants := []bleveVariant{bleveDefault}
		for _, v := range strings.Split(*bleves, ",") {
			switch v := bleveVariant(strings.TrimSpace(v)); v {
			case bleveDefault, "":
			case bleveBM25, bleveBM25Fields:
				variants = append(variants, v)
			default:
				fmt.Fprintf(os.Stderr, "-bleve: unknown variant %q; use %s, %s or %s\n", v, bleveDefault, bleveBM25, bleveBM25Fields)
				os.Exit(2)
			}
		}
		if res, err = runCompare(ctx, *data, *passes, variants); err == nil {
			if *asJSON {
				err = res.writeJSON(os.Stdout)
			} else {
				res.writeText(os.Stdout)
			}
		}
	case "tune":
		err = runTune(ctx, os.Stdout, *data, *exp, *folds)
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
