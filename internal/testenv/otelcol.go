package testenv

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Collector is a running OpenTelemetry Collector OTLP receiver (the
// collector's own otlpreceiver, built from internal/testenv/otelcol).
type Collector struct {
	// Endpoint is the base URL of its OTLP/HTTP receiver
	// (http://127.0.0.1:PORT): metrics go to Endpoint+"/v1/metrics",
	// traces to Endpoint+"/v1/traces".
	Endpoint string

	mu      sync.Mutex
	batches []CollectorBatch
	changed chan struct{} // closed and replaced at each batch
}

// CollectorBatch is one export the collector received.
type CollectorBatch struct {
	// Signal is "metrics" or "traces".
	Signal string `json:"signal"`
	// Authorization is the request's Authorization header.
	Authorization string `json:"authorization"`
	// Data is the batch in the OTLP JSON encoding (resourceMetrics or
	// resourceSpans at the top).
	Data json.RawMessage `json:"data"`
}

// OTelCollector starts a collector for the test and stops it at cleanup.
// The binary is $WEFT_TEST_OTELCOL (scripts/test.sh builds it), else it is
// built from internal/testenv/otelcol with the go command (the first build
// downloads the collector's modules from the module proxy).
func OTelCollector(t testing.TB) *Collector {
	t.Helper()
	bin := os.Getenv("WEFT_TEST_OTELCOL")
	if bin == "" {
		bin = buildCollector(t)
	}
	cmd := exec.Command(bin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start collector %s: %v", bin, err)
	}
	c := &Collector{changed: make(chan struct{})}
	ready := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			line := sc.Text()
			if addr, ok := strings.CutPrefix(line, "listening "); ok {
				ready <- addr
				continue
			}
			var b CollectorBatch
			if json.Unmarshal([]byte(line), &b) != nil {
				continue
			}
			c.mu.Lock()
			c.batches = append(c.batches, b)
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		<-done
		cmd.Wait()
	})
	select {
	case addr := <-ready:
		c.Endpoint = "http://" + addr
	case <-done:
		t.Fatalf("testenv: collector exited before listening: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("testenv: collector did not listen within 30s: %s", stderr.String())
	}
	return c
}

// Batches returns the batches received so far.
func (c *Collector) Batches() []CollectorBatch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]CollectorBatch(nil), c.batches...)
}

// Wait returns the batches received once ok says they are enough, or fails
// the test after timeout.
func (c *Collector) Wait(t testing.TB, timeout time.Duration, ok func([]CollectorBatch) bool) []CollectorBatch {
	t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		bs, ch := append([]CollectorBatch(nil), c.batches...), c.changed
		c.mu.Unlock()
		if ok(bs) {
			return bs
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("testenv: the collector did not receive what the test waits for within %v (%d batches)", timeout, len(bs))
			return nil
		}
	}
}

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// buildCollector builds internal/testenv/otelcol once per test process.
func buildCollector(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "otelcol")
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		buildOnce.bin = filepath.Join(dir, "weft-test", "otelcol")
		cmd := exec.Command("go", "build", "-o", buildOnce.bin, ".")
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = errors.New(string(out) + err.Error())
		}
	})
	if buildOnce.err != nil {
		t.Fatalf("testenv: build the collector harness (internal/testenv/otelcol): %v", buildOnce.err)
	}
	return buildOnce.bin
}
