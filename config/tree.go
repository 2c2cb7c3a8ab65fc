package config

// kind is the shape of a node in a parsed document.
type kind int

const (
	kindNull kind = iota
	kindScalar
	kindMap
	kindSeq
)

// node is a parsed YAML or JSON value with its position. Both file formats
// are turned into nodes so that one set of decoders can report every
// problem with a line number.
type node struct {
	kind  kind
	line  int
	text  string  // scalar text as written (after YAML unquoting)
	pairs []pair  // kindMap, in document order
	items []*node // kindSeq
}

// pair is one key of a mapping.
type pair struct {
	key  string
	line int
	val  *node
}

// describe names the node's shape for "expected X, got Y" messages.
func (n *node) describe() string {
	switch n.kind {
	case kindNull:
		return "nothing (null)"
	case kindMap:
		return "a mapping"
	case kindSeq:
		return "a list"
	}
	return "a value"
}
