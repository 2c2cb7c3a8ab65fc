package embed

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/weft-dev/weft/cache"
)

// Embedder is the method set Cache wraps (that of search.Embedder).
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Model() string
	Dimensions() int
}

// CacheOptions configure a Cache.
type CacheOptions struct {
	// Dir persists vectors (one append-only file per model) so a restart
	// does not re-embed. Empty keeps them in memory only.
	Dir string
	// TTL expires vectors older than this (0 = never); expired vectors are
	// embedded again.
	TTL time.Duration
	// MaxEntries bounds the vectors held in memory (default 200,000); past
	// it new vectors are still returned but not cached.
	MaxEntries int
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
	// Shared, when set, is a cache every replica reads (the Redis cache
	// tier): vectors missing locally are looked up there before the
	// embedder is asked, and every vector embedded is stored there for
	// TTL, so no replica embeds the same text with the same model twice.
	// Keys are cache.Key(cache.KindEmbedding, model, text). Its failures
	// only cost an embedding (the error is returned when Shared reports one).
	Shared SharedStore
}

// SharedStore is the shared cache of vectors (cache.Tiered satisfies it).
// Claim and AwaitMany coordinate replicas missing the same texts at the
// same time (see cache.Tiered.Claim): each text is embedded by one of them.
type SharedStore interface {
	GetMany(ctx context.Context, keys []string) ([][]byte, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Claim(ctx context.Context, keys []string) (held []bool, release func(), err error)
	AwaitMany(ctx context.Context, keys []string) (vals [][]byte, held []bool, release func(), err error)
}

// Cache is an Embedder that remembers vectors by (model, SHA-256 of the
// text), in memory and optionally on disk. It is safe for concurrent use.
type Cache struct {
	e    Embedder
	opts CacheOptions

	mu     sync.Mutex
	mem    map[[32]byte]cached
	file   *os.File
	w      *bufio.Writer
	hits   int
	misses int
	shared int // hits answered by opts.Shared
}

type cached struct {
	vec []float32
	at  int64 // unix nanoseconds
}

// NewCache wraps e. With opts.Dir it loads the vectors persisted there for
// e's model (a torn final record from a crash is ignored).
func NewCache(e Embedder, opts CacheOptions) (*Cache, error) {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 200_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Cache{e: e, opts: opts, mem: make(map[[32]byte]cached)}
	if opts.Dir == "" {
		return c, nil
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("embed: cache dir: %w", err)
	}
	sum := sha256.Sum256([]byte(e.Model()))
	path := filepath.Join(opts.Dir, "embeddings-"+hex.EncodeToString(sum[:8])+".bin")
	valid, err := c.load(path)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("embed: cache file: %w", err)
	}
	if err := f.Truncate(valid); err != nil { // drop a torn tail
		f.Close()
		return nil, fmt.Errorf("embed: cache file: %w", err)
	}
	if _, err := f.Seek(valid, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("embed: cache file: %w", err)
	}
	c.file, c.w = f, bufio.NewWriter(f)
	return c, nil
}

// record layout: key [32]byte | at int64 | dim uint32 | dim × float32, little endian.
const headerLen = 32 + 8 + 4

// load reads path into memory and returns the length of its valid prefix.
func (c *Cache) load(path string) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("embed: cache file: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var valid int64
	var hdr [headerLen]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return valid, nil
		}
		var key [32]byte
		copy(key[:], hdr[:32])
		at := int64(binary.LittleEndian.Uint64(hdr[32:40]))
		dim := binary.LittleEndian.Uint32(hdr[40:44])
		if dim == 0 || dim > 1<<16 {
			return valid, nil
		}
		buf := make([]byte, 4*int(dim))
		if _, err := io.ReadFull(r, buf); err != nil {
			return valid, nil
		}
		vec := make([]float32, dim)
		for i := range vec {
			vec[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		if !c.expired(at) && len(c.mem) < c.opts.MaxEntries {
			c.mem[key] = cached{vec: vec, at: at}
		}
		valid += headerLen + int64(len(buf))
	}
}

func (c *Cache) expired(at int64) bool {
	return c.opts.TTL > 0 && c.opts.Now().UnixNano()-at > int64(c.opts.TTL)
}

func (c *Cache) key(text string) [32]byte {
	h := sha256.New()
	h.Write([]byte(c.e.Model()))
	h.Write([]byte{0})
	h.Write([]byte(text))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// Model implements search.Embedder.
func (c *Cache) Model() string { return c.e.Model() }

// Dimensions implements search.Embedder.
func (c *Cache) Dimensions() int { return c.e.Dimensions() }

// Stats returns how many texts were answered from the cache and how many
// were embedded.
func (c *Cache) Stats() (hits, misses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// Embed implements search.Embedder: cached texts are answered from the
// cache, the others (each distinct text once) by the wrapped embedder.
func (c *Cache) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	keys := make([][32]byte, len(texts))
	var missText []string
	missAt := make(map[[32]byte][]int)
	c.mu.Lock()
	for i, t := range texts {
		keys[i] = c.key(t)
		if e, ok := c.mem[keys[i]]; ok && !c.expired(e.at) {
			out[i] = e.vec
			c.hits++
			continue
		}
		if _, seen := missAt[keys[i]]; !seen {
			missText = append(missText, t)
		}
		missAt[keys[i]] = append(missAt[keys[i]], i)
	}
	c.mu.Unlock()
	if len(missText) == 0 {
		return out, nil
	}
	missText, err := c.fromShared(ctx, missText, missAt, out)
	if err != nil {
		return nil, err
	}
	if len(missText) == 0 {
		return out, nil
	}
	if c.opts.Shared == nil {
		return out, c.embed(ctx, missText, missAt, out)
	}
	// Embed the texts nobody else is embedding; wait for the others (a
	// replica holds their lease) and embed any whose lease ends without
	// a vector.
	shared := make([]string, len(missText))
	for i, t := range missText {
		shared[i] = c.sharedKey(t)
	}
	held, release, err := c.opts.Shared.Claim(ctx, shared)
	if err != nil {
		return nil, fmt.Errorf("embed: shared vector cache: %w", err)
	}
	mine, theirs, theirKeys := split(missText, shared, held)
	err = c.embed(ctx, mine, missAt, out)
	release()
	if err != nil {
		return nil, err
	}
	if len(theirs) == 0 {
		return out, nil
	}
	vals, _, release, err := c.opts.Shared.AwaitMany(ctx, theirKeys)
	if err != nil {
		return nil, fmt.Errorf("embed: shared vector cache: %w", err)
	}
	defer release()
	var rest []string
	c.mu.Lock()
	for i, t := range theirs {
		vec, ok := decodeVector(vals[i], c.e.Dimensions())
		if !ok {
			rest = append(rest, t) // held now (AwaitMany), or an invalid vector
			continue
		}
		if err := c.remember(c.key(t), vec, missAt, out, true); err != nil {
			c.mu.Unlock()
			return nil, err
		}
	}
	err = c.flush()
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return out, c.embed(ctx, rest, missAt, out)
}

// split separates texts (with their shared keys) into those this caller
// holds the lease on and the others.
func split(texts, keys []string, held []bool) (mine, theirs, theirKeys []string) {
	for i, t := range texts {
		if held[i] {
			mine = append(mine, t)
		} else {
			theirs, theirKeys = append(theirs, t), append(theirKeys, keys[i])
		}
	}
	return mine, theirs, theirKeys
}

// embed sends texts (distinct, none cached) to the embedder, fills out at
// missAt, remembers the vectors and shares them.
func (c *Cache) embed(ctx context.Context, texts []string, missAt map[[32]byte][]int, out [][]float32) error {
	if len(texts) == 0 {
		return nil
	}
	vecs, err := c.e.Embed(ctx, texts)
	if err != nil {
		return err
	}
	if len(vecs) != len(texts) {
		return fmt.Errorf("embed: got %d vectors for %d texts", len(vecs), len(texts))
	}
	c.mu.Lock()
	for j, t := range texts {
		if err := c.remember(c.key(t), vecs[j], missAt, out, false); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	err = c.flush()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if c.opts.Shared != nil {
		for j, t := range texts {
			if err := c.opts.Shared.Set(ctx, c.sharedKey(t), encodeVector(vecs[j]), c.opts.TTL); err != nil {
				return fmt.Errorf("embed: share vector: %w", err)
			}
		}
	}
	return nil
}

// remember fills out at missAt[k] with vec and keeps it in memory and on
// disk; shared says it came from the shared cache (a hit) rather than the
// embedder (a miss). c.mu is held.
func (c *Cache) remember(k [32]byte, vec []float32, missAt map[[32]byte][]int, out [][]float32, shared bool) error {
	for _, i := range missAt[k] {
		out[i] = vec
	}
	if shared {
		c.hits++
		c.shared++
	} else {
		c.misses++
	}
	now := c.opts.Now().UnixNano()
	if len(c.mem) < c.opts.MaxEntries {
		c.mem[k] = cached{vec: vec, at: now}
	}
	if c.w != nil {
		if err := writeRecord(c.w, k, now, vec); err != nil {
			return fmt.Errorf("embed: persist vector: %w", err)
		}
	}
	return nil
}

// flush writes the persisted vectors out. c.mu is held.
func (c *Cache) flush() error {
	if c.w != nil {
		if err := c.w.Flush(); err != nil {
			return fmt.Errorf("embed: persist vector: %w", err)
		}
	}
	return nil
}

func (c *Cache) sharedKey(text string) string {
	return cache.Key(cache.KindEmbedding, c.e.Model(), text)
}

// fromShared fills out with the vectors of texts found in the shared
// cache (remembering them locally) and returns the texts still missing.
func (c *Cache) fromShared(ctx context.Context, texts []string, missAt map[[32]byte][]int, out [][]float32) ([]string, error) {
	if c.opts.Shared == nil {
		return texts, nil
	}
	keys := make([]string, len(texts))
	for i, t := range texts {
		keys[i] = c.sharedKey(t)
	}
	vals, err := c.opts.Shared.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("embed: shared vector cache: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var rest []string
	for i, t := range texts {
		vec, ok := decodeVector(vals[i], c.e.Dimensions())
		if !ok {
			rest = append(rest, t)
			continue
		}
		if err := c.remember(c.key(t), vec, missAt, out, true); err != nil {
			return nil, err
		}
	}
	if len(rest) < len(texts) {
		if err := c.flush(); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// encodeVector is a vector's shared form: float32s, little endian.
func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// decodeVector reverses encodeVector; false for nil, a length that is not
// whole float32s, or another dimension than dim (when dim > 0).
func decodeVector(b []byte, dim int) ([]float32, bool) {
	if len(b) == 0 || len(b)%4 != 0 || (dim > 0 && len(b)/4 != dim) {
		return nil, false
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, true
}

// SharedHits is how many texts were answered from the shared cache (they
// are counted in Stats' hits too).
func (c *Cache) SharedHits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shared
}

func writeRecord(w io.Writer, key [32]byte, at int64, vec []float32) error {
	buf := make([]byte, headerLen+4*len(vec))
	copy(buf, key[:])
	binary.LittleEndian.PutUint64(buf[32:], uint64(at))
	binary.LittleEndian.PutUint32(buf[40:], uint32(len(vec)))
	for i, x := range vec {
		binary.LittleEndian.PutUint32(buf[headerLen+4*i:], math.Float32bits(x))
	}
	_, err := w.Write(buf)
	return err
}

// Close flushes and closes the cache file.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file == nil {
		return nil
	}
	err := c.w.Flush()
	if cerr := c.file.Close(); err == nil {
		err = cerr
	}
	c.file, c.w = nil, nil
	return err
}
