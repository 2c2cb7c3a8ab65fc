package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/weft-dev/weft/internal/testenv"
)

func TestKey(t *testing.T) {
	k := Key(KindSearch, "ab", "c")
	if !strings.HasPrefix(k, "weft:v1:search:") || len(k) != len("weft:v1:search:")+64 {
		t.Fatalf("key %q", k)
	}
	if k == Key(KindSearch, "a", "bc") {
		t.Fatal(`("ab","c") and ("a","bc") share a key`)
	}
	if k == Key(KindPlan, "ab", "c") {
		t.Fatal("kinds share a key")
	}
	if got := KindOf(k); got != KindSearch {
		t.Fatalf("KindOf = %q", got)
	}
	for _, s := range []string{"", "weft:v1:", "other:search:x", "weft:v1:nocolon"} {
		if KindOf(s) != "" {
			t.Errorf("KindOf(%q) = %q, want empty", s, KindOf(s))
		}
	}
	if label("weft:v1:bogus:x") != "other" || label(k) != "search" {
		t.Fatal("metric labels not bounded to the known kinds")
	}
}

func TestEnvelope(t *testing.T) {
	exp := time.UnixMilli(1_800_000_000_123)
	b := seal(KindTool, []byte("payload"), exp)
	p, e, err := open(KindTool, b)
	if err != nil || string(p) != "payload" || !e.Equal(exp) {
		t.Fatalf("open = %q %v %v", p, e, err)
	}
	if p, e, err := open(KindTool, seal(KindTool, nil, time.Time{})); err != nil || len(p) != 0 || !e.IsZero() {
		t.Fatalf("empty payload, no expiry: %q %v %v", p, e, err)
	}
	cases := map[string]struct {
		b    []byte
		want error
	}{
		"other kind":     {b, ErrForeign},
		"plain text":     {[]byte("hello"), ErrForeign},
		"empty":          {nil, ErrForeign},
		"json":           {[]byte(`{"content":[]}`), ErrForeign},
		"other format":   {append([]byte("wFtC\x02"), b[5:]...), ErrForeign},
		"truncated":      {b[:len(b)-1], ErrCorrupt},
		"header only":    {b[:12], ErrCorrupt},
		"flipped byte":   {flip(b, len(b)-2), ErrCorrupt},
		"flipped expiry": {flip(b, 4+2+4+3), ErrCorrupt},
		"trailing bytes": {append(bytes.Clone(b), 'x'), ErrCorrupt},
	}
	for name, c := range cases {
		kind := KindTool
		if name == "other kind" {
			kind = KindPlan
		}
		if _, _, err := open(kind, c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", name, err, c.want)
		}
	}
	// No prefix of a value, and no single-byte change, ever panics or opens.
	for i := range b {
		if _, _, err := open(KindTool, b[:i]); err == nil {
			t.Fatalf("prefix of %d bytes opened", i)
		}
		if _, _, err := open(KindTool, flip(b, i)); err == nil {
			t.Fatalf("byte %d flipped: opened", i)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x40
	return c
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestMemoryBoundsAndTTL(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1000, 0)}
	m := NewMemory(MemoryOptions{MaxEntries: 3, MaxBytes: 1 << 20, Now: clk.Now})
	for i := range 3 {
		m.Set(ctx, fmt.Sprint("k", i), []byte{byte(i)}, 0)
	}
	m.Get(ctx, "k0") // k1 is now the least recently used
	m.Set(ctx, "k3", []byte{3}, 0)
	if _, ok, _ := m.Get(ctx, "k1"); ok {
		t.Fatal("k1 (least recently used) not evicted past MaxEntries")
	}
	for _, k := range []string{"k0", "k2", "k3"} {
		if _, ok, _ := m.Get(ctx, k); !ok {
			t.Fatalf("%s evicted", k)
		}
	}
	// TTL.
	m.Set(ctx, "short", []byte("x"), time.Minute)
	clk.Add(59 * time.Second)
	if _, ok, _ := m.Get(ctx, "short"); !ok {
		t.Fatal("expired early")
	}
	clk.Add(time.Second)
	if _, ok, _ := m.Get(ctx, "short"); ok {
		t.Fatal("not expired after its TTL")
	}
	// Bytes: 4 values of ~250 B in 1000 B hold at most 3 (with overhead).
	mb := NewMemory(MemoryOptions{MaxBytes: 1200, MaxEntries: 100})
	val := bytes.Repeat([]byte("v"), 250-entryOverhead-2)
	for i := range 6 {
		mb.Set(ctx, fmt.Sprint("b", i), val, 0)
	}
	n, size := mb.Len()
	if size > 1200 || n != 4 {
		t.Fatalf("%d entries, %d bytes; want 4 entries within 1200 bytes", n, size)
	}
	if _, ok, _ := mb.Get(ctx, "b0"); ok {
		t.Fatal("oldest entry kept past MaxBytes")
	}
	// A value larger than a quarter of MaxBytes is not cached; a
	// replaced value does not count twice.
	mb.Set(ctx, "huge", make([]byte, 400), 0)
	if _, ok, _ := mb.Get(ctx, "huge"); ok {
		t.Fatal("oversized value cached")
	}
	mb.Set(ctx, "b5", val, 0)
	if _, size2 := mb.Len(); size2 != size {
		t.Fatalf("replacing a value changed the byte count %d -> %d", size, size2)
	}
	// The stored value is a copy.
	src := []byte("abc")
	m.Set(ctx, "copy", src, 0)
	src[0] = 'X'
	if v, _, _ := m.Get(ctx, "copy"); string(v) != "abc" {
		t.Fatalf("stored value aliased the caller's slice: %q", v)
	}
}

// loadedMachine bounds Redis operations in the tests about sharing: on a
// machine loaded by a whole test suite under -race, the default 1 s bound
// could end an operation and turn a sharing test into a fallback.
const loadedMachine = 10 * time.Second

// testRedis returns a client of the suite's Redis and a key prefix of the
// test's own.
func testRedis(t testing.TB) redis.UniversalClient {
	t.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at WEFT_TEST_REDIS_URL: %v", err)
	}
	return c
}

// uniq makes test keys unique across runs sharing one Redis.
func uniq(t *testing.T, kind Kind, s string) string {
	return Key(kind, t.Name(), time.Now().Format(time.RFC3339Nano), s)
}

// TestTieredSharedByReplicas: two tiered caches (two replicas: own memory,
// own connections) over one real Redis see each other's entries.
func TestTieredSharedByReplicas(t *testing.T) {
	ctx := context.Background()
	ma, mb := NewMetrics(), NewMetrics()
	a := NewTiered(TieredOptions{Redis: NewRedis(testRedis(t), RedisOptions{Metrics: ma, Timeout: loadedMachine}), Metrics: ma})
	b := NewTiered(TieredOptions{Redis: NewRedis(testRedis(t), RedisOptions{Metrics: mb, Timeout: loadedMachine}), Metrics: mb})
	defer a.Close()
	defer b.Close()
	key := uniq(t, KindEmbedding, "hello")
	if err := a.Set(ctx, key, []byte("vector"), time.Hour); err != nil {
		t.Fatal(err)
	}
	v, ok, err := b.Get(ctx, key)
	if err != nil || !ok || string(v) != "vector" {
		t.Fatalf("replica b: %q %v %v", v, ok, err)
	}
	if got := testutil.ToFloat64(mb.requests.WithLabelValues("l2", "embedding", "hit")); got != 1 {
		t.Fatalf("b: l2 hits %v, want 1", got)
	}
	// The second read is served by b's memory.
	if _, ok, _ := b.Get(ctx, key); !ok {
		t.Fatal("second read missed")
	}
	if got := testutil.ToFloat64(mb.requests.WithLabelValues("l1", "embedding", "hit")); got != 1 {
		t.Fatalf("b: l1 hits %v, want 1", got)
	}
	// GetMany: one from memory, one from Redis, one missing.
	key2 := uniq(t, KindEmbedding, "world")
	if err := a.Set(ctx, key2, []byte("v2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	vals, err := b.GetMany(ctx, []string{key, key2, uniq(t, KindEmbedding, "none")})
	if err != nil || string(vals[0]) != "vector" || string(vals[1]) != "v2" || vals[2] != nil {
		t.Fatalf("GetMany = %q, %v", vals, err)
	}
	// The value in Redis is sealed and expires with its TTL.
	raw, err := a.l2.Client().Get(ctx, key).Bytes()
	if err != nil || !bytes.HasPrefix(raw, []byte(envMagic)) {
		t.Fatalf("raw value %q %v", raw, err)
	}
	if ttl := a.l2.Client().PTTL(ctx, key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("Redis TTL %s, want about 1h", ttl)
	}
}

// TestRedisIgnoresInvalidValues: corrupt, foreign and other-kind bytes in
// Redis are misses, counted, never returned; a load replaces them.
func TestRedisIgnoresInvalidValues(t *testing.T) {
	ctx := context.Background()
	c := testRedis(t)
	m := NewMetrics()
	tc := NewTiered(TieredOptions{Redis: NewRedis(c, RedisOptions{Metrics: m, Timeout: loadedMachine}), Metrics: m})
	defer tc.Close()
	good := seal(KindSearch, []byte("answer"), time.Time{})
	values := map[string][]byte{
		"foreign":   []byte(`{"results":["from another program"]}`),
		"otherkind": seal(KindTool, []byte("answer"), time.Time{}),
		"corrupt":   flip(good, len(good)-1),
		"truncated": good[:len(good)-3],
	}
	for name, raw := range values {
		key := uniq(t, KindSearch, name)
		if err := c.Set(ctx, key, raw, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := tc.Get(ctx, key); ok || err != nil || v != nil {
			t.Fatalf("%s: Get = %q %v %v, want a miss", name, v, ok, err)
		}
		v, err := tc.GetOrLoad(ctx, key, time.Minute, func(context.Context) ([]byte, error) { return []byte("fresh"), nil })
		if err != nil || string(v) != "fresh" {
			t.Fatalf("%s: GetOrLoad = %q %v", name, v, err)
		}
		tc.Memory().Delete(key)
		if v, ok, _ := tc.Get(ctx, key); !ok || string(v) != "fresh" {
			t.Fatalf("%s: the load did not replace the bad value in Redis: %q %v", name, v, ok)
		}
	}
	foreign := testutil.ToFloat64(m.invalids.WithLabelValues("search", "foreign"))
	corrupt := testutil.ToFloat64(m.invalids.WithLabelValues("search", "corrupt"))
	// Each bad value is met twice (Get, then GetOrLoad).
	if foreign != 4 || corrupt != 4 {
		t.Fatalf("invalid counts foreign=%v corrupt=%v, want 4 and 4", foreign, corrupt)
	}
}

// TestGetOrLoadSingleflight: N concurrent misses of one key run the loader
// once; every caller gets its value.
func TestGetOrLoadSingleflight(t *testing.T) {
	ctx := context.Background()
	m := NewMetrics()
	tc := NewTiered(TieredOptions{Redis: NewRedis(testRedis(t), RedisOptions{Metrics: m, Timeout: loadedMachine}), Metrics: m})
	defer tc.Close()
	key := uniq(t, KindEmbedding, "once")
	const n = 50
	var loads atomic.Int32
	release := make(chan struct{})
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	errs := make(chan error, n)
	for range n {
		go func() {
			defer done.Done()
			started.Done()
			v, err := tc.GetOrLoad(ctx, key, time.Minute, func(context.Context) ([]byte, error) {
				loads.Add(1)
				<-release
				return []byte("computed"), nil
			})
			if err == nil && string(v) != "computed" {
				err = fmt.Errorf("value %q", v)
			}
			errs <- err
		}()
	}
	started.Wait()
	close(release)
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if loads.Load() != 1 {
		t.Fatalf("%d loads for %d concurrent misses, want 1", loads.Load(), n)
	}
	if got := testutil.ToFloat64(m.loads.WithLabelValues("embedding")); got != 1 {
		t.Fatalf("weft_cache_loads_total %v, want 1", got)
	}
	// A failed load is not cached; the next caller loads again.
	key2 := uniq(t, KindEmbedding, "fails")
	boom := errors.New("boom")
	if _, err := tc.GetOrLoad(ctx, key2, time.Minute, func(context.Context) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if v, err := tc.GetOrLoad(ctx, key2, time.Minute, func(context.Context) ([]byte, error) { return []byte("ok"), nil }); err != nil || string(v) != "ok" {
		t.Fatalf("after a failed load: %q %v", v, err)
	}
}

// TestTieredTTL: entries expire in both tiers; Redis holds the key with
// its TTL, and a value read back from Redis keeps its original expiry in
// memory.
func TestTieredTTL(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Now()}
	c := testRedis(t)
	a := NewTiered(TieredOptions{Memory: NewMemory(MemoryOptions{Now: clk.Now}), Redis: NewRedis(c, RedisOptions{Now: clk.Now, Timeout: loadedMachine})})
	b := NewTiered(TieredOptions{Memory: NewMemory(MemoryOptions{Now: clk.Now}), Redis: NewRedis(c, RedisOptions{Now: clk.Now, Timeout: loadedMachine})})
	defer a.Close()
	defer b.Close()
	key := uniq(t, KindSearch, "ttl")
	if err := a.Set(ctx, key, []byte("v"), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.Add(6 * time.Minute)
	if _, ok, _ := b.Get(ctx, key); !ok { // b copies it into memory, expiring in 4 min
		t.Fatal("b missed a live entry")
	}
	clk.Add(4 * time.Minute)
	for name, tc := range map[string]*Tiered{"a": a, "b": b} {
		if v, _, ok := tc.l1.get(key); ok {
			t.Fatalf("%s: memory still holds %q past the TTL", name, v)
		}
		if v, ok, _ := tc.Get(ctx, key); ok {
			t.Fatalf("%s: %q served past the TTL", name, v)
		}
	}
	if ttl := c.PTTL(ctx, key).Val(); ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Fatalf("Redis TTL %s, want the 10 min given (Redis expires the key by its own clock)", ttl)
	}
}
