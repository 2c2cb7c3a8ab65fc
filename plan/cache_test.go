package plan

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestMemoryCacheExpiryAndBound(t *testing.T) {
	ctx := context.Background()
	c := NewMemoryCache(2)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	_ = c.Set(ctx, "a", json.RawMessage(`1`), time.Minute)
	_ = c.Set(ctx, "b", json.RawMessage(`2`), time.Hour)
	if v, ok, _ := c.Get(ctx, "a"); !ok || string(v) != "1" {
		t.Fatalf("a = %s %v", v, ok)
	}
	_ = c.Set(ctx, "c", json.RawMessage(`3`), 0) // evicts a, the soonest to expire
	if _, ok, _ := c.Get(ctx, "a"); ok || c.Len() != 2 {
		t.Errorf("a survived eviction (len %d)", c.Len())
	}
	now = now.Add(2 * time.Hour)
	if _, ok, _ := c.Get(ctx, "b"); ok {
		t.Error("b did not expire")
	}
	if v, ok, _ := c.Get(ctx, "c"); !ok || string(v) != "3" {
		t.Error("c (no expiry) is gone")
	}
}

func TestBackoff(t *testing.T) {
	zero := 0.0
	p := &Retry{Attempts: 10, Backoff: Duration(100 * time.Millisecond), MaxBackoff: Duration(time.Second), Multiplier: 3, Jitter: &zero}
	var got []string
	for n := 1; n <= 4; n++ {
		got = append(got, backoff(p, n).String())
	}
	if strings.Join(got, " ") != "100ms 300ms 900ms 1s" {
		t.Errorf("backoffs = %v", got)
	}
	half := 0.5
	p.Jitter = &half
	for range 100 {
		if d := backoff(p, 1); d < 50*time.Millisecond || d > 150*time.Millisecond {
			t.Fatalf("jittered backoff %s outside [50ms, 150ms]", d)
		}
	}
	if d := backoff(nil, 1); d < 160*time.Millisecond || d > 240*time.Millisecond {
		t.Errorf("default first backoff %s, want 200ms ± 20%%", d)
	}
}

func TestReferenceRendering(t *testing.T) {
	st := &staticResolver{values: map[string]any{"inputs": map[string]any{"n": json.Number("3"), "tags": []any{"x", "y"}, "o": map[string]any{"a b": true}, "nil": nil}}}
	cases := []struct{ in, want string }{
		{`"{{inputs.n}}"`, `3`},
		{`"n={{inputs.n}}"`, `"n=3"`},
		{`"{{ inputs.tags }}"`, `["x","y"]`},
		{`"tags: {{inputs.tags}}"`, `"tags: [\"x\",\"y\"]"`},
		{`"{{inputs.tags[1]}}{{inputs.o[\"a b\"]}}"`, `"ytrue"`},
		{`"[{{inputs.nil}}]"`, `"[]"`},
		{`{"k":["{{inputs.n}}",{"d":"{{inputs.o}}"}]}`, `{"k":[3,{"d":{"a b":true}}]}`},
	}
	for _, c := range cases {
		v, err := decodeValue([]byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		out, err := render(v, st)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := jsonOf(out); got != c.want {
			t.Errorf("%s = %s, want %s", c.in, got, c.want)
		}
	}
	for _, bad := range []string{`"{{inputs.tags[5]}}"`, `"{{inputs.n.x}}"`, `"{{inputs.o.b}}"`, `"{{inputs.tags.x}}"`} {
		v, _ := decodeValue([]byte(bad))
		if _, err := render(v, st); err == nil {
			t.Errorf("%s: no error", bad)
		} else {
			t.Log(err)
		}
	}
}

type staticResolver struct{ values map[string]any }

func (s *staticResolver) lookup(r *ref) (any, error) { return s.values[r.root], nil }
