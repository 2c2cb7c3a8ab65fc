package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"time"
)

// The envelope every value in Redis is wrapped in:
//
//	magic "wFtC" | format 1 | kind length (1 byte) | kind |
//	expires (int64, unix ms, 0 = never) | payload length (uint32) |
//	CRC-32C of kind, expires and payload (uint32) | payload
//
// all integers big endian.
const (
	envMagic   = "wFtC"
	envFormat  = 1
	maxPayload = 512 << 20
)

// castagnoli is the CRC-32C table, made on first use: making it builds the
// SSE4.2 tables, ~0.3 ms of package init in every weft process otherwise,
// though only the Redis cache tier needs it.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// Reasons a stored value is not used (the "reason" label of
// weft_cache_invalid_total).
var (
	// ErrForeign: not a weft envelope, another format version, or another kind.
	ErrForeign = errors.New("cache: foreign value")
	// ErrCorrupt: a weft envelope whose length or checksum does not hold.
	ErrCorrupt = errors.New("cache: corrupt value")
)

// seal wraps payload for kind, expiring at expires (zero: never).
func seal(kind Kind, payload []byte, expires time.Time) []byte {
	b := make([]byte, 0, len(envMagic)+2+len(kind)+16+len(payload))
	b = append(b, envMagic...)
	b = append(b, envFormat, byte(len(kind)))
	b = append(b, kind...)
	var exp int64
	if !expires.IsZero() {
		exp = expires.UnixMilli()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(exp))
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	sum := crc32.Update(0, castagnoli(), b[len(envMagic)+2:])
	sum = crc32.Update(sum, castagnoli(), payload)
	b = binary.BigEndian.AppendUint32(b, sum)
	return append(b, payload...)
}

// open unwraps a value stored for kind. It never panics: anything that is
// not exactly a sealed value of kind is ErrForeign or ErrCorrupt.
func open(kind Kind, b []byte) (payload []byte, expires time.Time, err error) {
	if len(b) < len(envMagic)+2 || string(b[:len(envMagic)]) != envMagic {
		return nil, time.Time{}, ErrForeign
	}
	if b[len(envMagic)] != envFormat {
		return nil, time.Time{}, fmt.Errorf("%w: envelope format %d", ErrForeign, b[len(envMagic)])
	}
	kl := int(b[len(envMagic)+1])
	head := len(envMagic) + 2 + kl + 8 + 4 + 4
	if len(b) < head {
		return nil, time.Time{}, fmt.Errorf("%w: %d bytes, shorter than its header", ErrCorrupt, len(b))
	}
	k := b[len(envMagic)+2 : len(envMagic)+2+kl]
	if string(k) != string(kind) {
		return nil, time.Time{}, fmt.Errorf("%w: kind %q, want %q", ErrForeign, k, kind)
	}
	p := len(envMagic) + 2 + kl
	exp := int64(binary.BigEndian.Uint64(b[p:]))
	n := binary.BigEndian.Uint32(b[p+8:])
	sum := binary.BigEndian.Uint32(b[p+12:])
	if n > maxPayload || int(n) != len(b)-head {
		return nil, time.Time{}, fmt.Errorf("%w: payload length %d, %d bytes follow", ErrCorrupt, n, len(b)-head)
	}
	payload = b[head:]
	got := crc32.Update(0, castagnoli(), b[len(envMagic)+2:p+12])
	got = crc32.Update(got, castagnoli(), payload)
	if got != sum {
		return nil, time.Time{}, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	if exp != 0 {
		expires = time.UnixMilli(exp)
	}
	return payload, expires, nil
}
