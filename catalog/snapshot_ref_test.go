package catalog

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// referenceSnapshot is NewSnapshot as it was before the single-sort fast
// path (commit 401c880): sort by (server, original, input position), drop
// exact duplicates, name in that order with hash suffixes on collision,
// then order by name. The differential test holds NewSnapshot to it.
func referenceSnapshot(tools []Tool) *Snapshot {
	order := make([]int32, len(tools))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ta, tb := &tools[a], &tools[b]
		if c := strings.Compare(ta.Server, tb.Server); c != 0 {
			return c
		}
		if c := strings.Compare(ta.Original, tb.Original); c != 0 {
			return c
		}
		return int(a - b)
	})
	in := make([]Tool, 0, len(tools))
	for _, i := range order {
		t := &tools[i]
		if n := len(in); n > 0 && in[n-1].Server == t.Server && in[n-1].Original == t.Original {
			continue
		}
		in = append(in, *t)
	}
	taken := make(map[string]bool, len(in))
	for i := range in {
		t := &in[i]
		t.Tags = slices.Clone(t.Tags)
		t.Examples = slices.Clone(t.Examples)
		name := referenceMakeName(t.Server, t.Original)
		for n := 0; taken[name]; n++ {
			name = withSuffix(referenceMakeName(t.Server, t.Original), t.Server+"\x00"+t.Original+"\x00"+strconv.Itoa(n))
		}
		taken[name] = true
		t.Name = name
		t.Hash = referenceContentHash(t)
	}
	slices.SortFunc(in, func(a, b Tool) int { return strings.Compare(a.Name, b.Name) })
	s := &Snapshot{tools: in, byName: make(map[string]int, len(in))}
	h := sha256.New()
	for i := range in {
		s.byName[in[i].Name] = i
		h.Write([]byte(in[i].Name))
		h.Write([]byte{0})
		h.Write([]byte(in[i].Hash))
		h.Write([]byte{0})
	}
	s.version = hex.EncodeToString(h.Sum(nil)[:8])
	return s
}

// referenceContentHash is ContentHash as of commit 401c880.
func referenceContentHash(t *Tool) string {
	var buf [512]byte
	b := buf[:0]
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	raw := func(r []byte) {
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	str(t.Original)
	str(t.Server)
	str(t.ServerDescription)
	str(t.Title)
	str(t.Description)
	raw(t.InputSchema)
	raw(t.OutputSchema)
	if a := t.Annotations; a == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		str(a.Title)
		for _, h := range []*bool{a.ReadOnlyHint, a.DestructiveHint, a.IdempotentHint, a.OpenWorldHint} {
			switch {
			case h == nil:
				b = append(b, 0)
			case *h:
				b = append(b, 1)
			default:
				b = append(b, 2)
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(len(t.Examples)))
	for _, e := range t.Examples {
		raw(e)
	}
	tags := t.Tags
	if !slices.IsSorted(tags) {
		tags = slices.Sorted(slices.Values(tags))
	}
	b = binary.AppendUvarint(b, uint64(len(tags)))
	for _, g := range tags {
		str(g)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// referenceSanitize, referenceMakeName and referenceFitName are Sanitize,
// MakeName and fitName as of commit 401c880.
func referenceSanitize(s string) string {
	var b strings.Builder
	lastUnderscore := false
	for _, r := range s {
		ok := r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			if !lastUnderscore {
				b.WriteByte('_')
			}
			lastUnderscore = true
			continue
		}
		b.WriteRune(r)
		lastUnderscore = r == '_'
	}
	out := strings.Trim(b.String(), "_")
	if out == "" {
		return "tool"
	}
	return out
}

func referenceMakeName(server, tool string) string {
	full := referenceSanitize(server) + Separator + referenceSanitize(tool)
	if server == "" {
		full = referenceSanitize(tool)
	}
	return referenceFitName(full, server+"\x00"+tool)
}

func referenceFitName(name, key string) string {
	if len(name) <= MaxNameLen {
		return name
	}
	h := shortHash(key, 8)
	return strings.TrimRight(name[:MaxNameLen-len(h)-1], "_-") + "_" + h
}
