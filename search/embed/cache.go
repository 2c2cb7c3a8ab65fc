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
	vecs, err := c.e.Embed(ctx, missText)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(missText) {
		return nil, fmt.Errorf("embed: got %d vectors for %d texts", len(vecs), len(missText))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now().UnixNano()
	for j, t := range missText {
		k := c.key(t)
		for _, i := range missAt[k] {
			out[i] = vecs[j]
		}
		c.misses++
		if len(c.mem) < c.opts.MaxEntries {
			c.mem[k] = cached{vec: vecs[j], at: now}
		}
		if c.w != nil {
			if err := writeRecord(c.w, k, now, vecs[j]); err != nil {
				return nil, fmt.Errorf("embed: persist vector: %w", err)
			}
		}
	}
	if c.w != nil {
		if err := c.w.Flush(); err != nil {
			return nil, fmt.Errorf("embed: persist vector: %w", err)
		}
	}
	return out, nil
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
