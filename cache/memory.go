package cache

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Memory defaults.
const (
	DefaultMemoryMaxBytes   = 64 << 20
	DefaultMemoryMaxEntries = 100_000
)

// entryOverhead is what Memory counts per entry besides key and value
// (list element, map slot, item header), so that many tiny entries still
// count against MaxBytes.
const entryOverhead = 96

// MemoryOptions configure a Memory.
type MemoryOptions struct {
	// MaxBytes bounds the keys and values held (plus a small per-entry
	// overhead). Default DefaultMemoryMaxBytes. A value larger than a
	// quarter of it is not cached.
	MaxBytes int64
	// MaxEntries bounds the number of entries. Default DefaultMemoryMaxEntries.
	MaxEntries int
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
}

// Memory is an in-process Store: least recently used entries are evicted
// past MaxBytes or MaxEntries, expired ones when met. Get and Set never
// fail. It is safe for concurrent use.
type Memory struct {
	opts MemoryOptions

	mu    sync.Mutex
	bytes int64
	lru   list.List // of *memItem, most recently used first
	items map[string]*list.Element
}

type memItem struct {
	key     string
	val     []byte
	expires time.Time // zero: never
}

func (it *memItem) size() int64 { return int64(len(it.key) + len(it.val) + entryOverhead) }

// NewMemory returns an empty Memory.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMemoryMaxBytes
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMemoryMaxEntries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Memory{opts: opts, items: map[string]*list.Element{}}
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	v, _, ok := m.get(key)
	return v, ok, nil
}

// get returns the value and its expiry.
func (m *Memory) get(key string) ([]byte, time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, time.Time{}, false
	}
	it := el.Value.(*memItem)
	if !it.expires.IsZero() && !m.opts.Now().Before(it.expires) {
		m.remove(el)
		return nil, time.Time{}, false
	}
	m.lru.MoveToFront(el)
	return it.val, it.expires, true
}

// Set implements Store. The value is copied.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	var expires time.Time
	if ttl > 0 {
		expires = m.opts.Now().Add(ttl)
	}
	m.setUntil(key, value, expires)
	return nil
}

// setUntil stores value until expires (zero: never).
func (m *Memory) setUntil(key string, value []byte, expires time.Time) {
	it := &memItem{key: key, val: append([]byte(nil), value...), expires: expires}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	if it.size() > m.opts.MaxBytes/4 {
		return // too large to be worth the room
	}
	m.items[key] = m.lru.PushFront(it)
	m.bytes += it.size()
	for m.bytes > m.opts.MaxBytes || len(m.items) > m.opts.MaxEntries {
		m.remove(m.lru.Back())
	}
}

// Delete removes key.
func (m *Memory) Delete(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
}

func (m *Memory) remove(el *list.Element) {
	it := el.Value.(*memItem)
	m.lru.Remove(el)
	delete(m.items, it.key)
	m.bytes -= it.size()
}

// Len returns the number of entries and the bytes they count for.
func (m *Memory) Len() (entries int, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items), m.bytes
}
