package server_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/server"
)

// startRedis starts a redis-server of the test's own on a free port and
// returns its URL and a func that kills it.
func startRedis(t *testing.T) (string, func()) {
	t.Helper()
	r := testenv.StartRedis(t)
	return r.URL(), r.Stop
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedisFailMode (issue 9 #21): when the shared rate limiter's Redis
// goes away, keyed clients are refused by default (fail closed) or let
// through with limits.redis_fail_mode: open; either way the failure is
// counted in /metrics and logged loudly, once per interval.
func TestRedisFailMode(t *testing.T) {
	url, kill := startRedis(t)
	setRedis := func(mode string) func(*config.Config) {
		return func(c *config.Config) {
			c.Limits.RedisURL = url
			if mode != "" {
				c.Limits.RedisFailMode = mode
			}
		}
	}
	var closedLog, openLog syncBuffer
	closed := protectedServer(t, server.Options{RequestsPerMinute: 1000, Logger: slog.New(slog.NewTextHandler(&closedLog, nil))}, setRedis(""))
	open := protectedServer(t, server.Options{RequestsPerMinute: 1000, Logger: slog.New(slog.NewTextHandler(&openLog, nil))}, setRedis("open"))
	for _, hs := range []string{closed.URL, open.URL} {
		if status, _, body := req(t, "GET", hs+"/v1/tools", "admin-key", ""); status != 200 {
			t.Fatalf("with Redis up: %d %s", status, body)
		}
	}
	kill()
	for range 3 {
		status, hdr, body := req(t, "GET", closed.URL+"/v1/tools", "admin-key", "")
		if status != 503 || hdr.Get("Retry-After") == "" || !strings.Contains(body, "rate_limiter_unavailable") {
			t.Fatalf("closed, Redis down: %d %s", status, body)
		}
		if status, _, body := req(t, "GET", open.URL+"/v1/tools", "admin-key", ""); status != 200 {
			t.Fatalf("open, Redis down: %d %s", status, body)
		}
	}
	for _, c := range []struct {
		url, metric string
		log         *syncBuffer
		logWant     string
	}{
		{closed.URL, `weft_rate_limiter_failures_total{action="refused"} 3`, &closedLog, "refusing requests (limits.redis_fail_mode: closed)"},
		{open.URL, `weft_rate_limiter_failures_total{action="allowed"} 3`, &openLog, "allowing requests unlimited (limits.redis_fail_mode: open)"},
	} {
		if _, _, metrics := req(t, "GET", c.url+"/metrics", "", ""); !strings.Contains(metrics, c.metric) {
			t.Errorf("metrics lack %s", c.metric)
		}
		logs := c.log.String()
		if n := strings.Count(logs, "rate limiter unavailable"); n != 1 || !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, c.logWant) {
			t.Errorf("want one error line saying %q, got %d lines:\n%s", c.logWant, n, logs)
		}
	}
}
