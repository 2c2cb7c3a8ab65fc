package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// parseYAML parses data into a node tree, resolving anchors, aliases and
// merge keys (<<). An empty document yields a null node. Problems are
// reported against file.
func parseYAML(file string, data []byte, probs *problems) *node {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		p := Problem{File: file, Msg: "YAML syntax error: " + trimYAMLError(err.Error())}
		var se *yaml.SyntaxError
		if errors.As(err, &se) {
			p.Msg = "YAML syntax error: " + se.Message
			if se.Token != nil && se.Token.Position != nil {
				p.Line, p.Col = se.Token.Position.Line, se.Token.Position.Column
			}
		}
		probs.add(p)
		return nil
	}
	c := &yamlConv{file: file, probs: probs, anchors: map[string]*node{}}
	var root *node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		n := c.conv(doc.Body)
		if n.kind == kindNull {
			continue
		}
		if root != nil {
			probs.add(Problem{File: file, Line: n.line, Msg: "a second YAML document (---) is not allowed; put everything in one"})
			continue
		}
		root = n
	}
	if root == nil {
		root = &node{kind: kindNull, line: 1}
	}
	return root
}

// yamlConv converts goccy/go-yaml AST nodes into nodes.
type yamlConv struct {
	file    string
	probs   *problems
	anchors map[string]*node
}

func lineOf(n ast.Node) int {
	if n == nil {
		return 0
	}
	if t := n.GetToken(); t != nil && t.Position != nil {
		return t.Position.Line
	}
	return 0
}

func (c *yamlConv) conv(n ast.Node) *node {
	line := lineOf(n)
	switch n := n.(type) {
	case nil:
		return &node{kind: kindNull}
	case *ast.NullNode, *ast.CommentGroupNode, *ast.CommentNode:
		return &node{kind: kindNull, line: line}
	case *ast.StringNode:
		return &node{kind: kindScalar, line: line, text: n.Value}
	case *ast.LiteralNode:
		return &node{kind: kindScalar, line: line, text: n.Value.Value}
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return &node{kind: kindScalar, line: line, text: n.GetToken().Value}
	case *ast.TagNode:
		return c.conv(n.Value)
	case *ast.AnchorNode:
		v := c.conv(n.Value)
		c.anchors[n.Name.GetToken().Value] = v
		return v
	case *ast.AliasNode:
		name := n.Value.GetToken().Value
		if v, ok := c.anchors[name]; ok {
			return v
		}
		c.probs.add(Problem{File: c.file, Line: line, Msg: fmt.Sprintf("alias *%s refers to no anchor &%s defined above it", name, name)})
		return &node{kind: kindNull, line: line}
	case *ast.MappingNode:
		return c.mapping(line, n.Values)
	case *ast.MappingValueNode:
		return c.mapping(lineOf(n.Key), []*ast.MappingValueNode{n})
	case *ast.SequenceNode:
		out := &node{kind: kindSeq, line: line}
		for _, v := range n.Values {
			out.items = append(out.items, c.conv(v))
		}
		return out
	}
	c.probs.add(Problem{File: c.file, Line: line, Msg: fmt.Sprintf("unsupported YAML construct (%s)", n.Type())})
	return &node{kind: kindNull, line: line}
}

// mapping converts key/value pairs; pairs brought in by merge keys (<<)
// come after the explicit ones and never replace them.
func (c *yamlConv) mapping(line int, values []*ast.MappingValueNode) *node {
	out := &node{kind: kindMap, line: line}
	var merged []*node
	for _, mv := range values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			merged = append(merged, c.conv(mv.Value))
			continue
		}
		key, ok := mv.Key.(ast.ScalarNode)
		if !ok {
			c.probs.add(Problem{File: c.file, Line: lineOf(mv.Key), Msg: "complex mapping keys (?) are not supported; use a plain key"})
			continue
		}
		out.pairs = append(out.pairs, pair{key: key.GetToken().Value, line: lineOf(mv.Key), val: c.conv(mv.Value)})
	}
	for _, m := range merged {
		var sources []*node
		switch m.kind {
		case kindMap:
			sources = []*node{m}
		case kindSeq:
			sources = m.items
		}
		for _, s := range sources {
			if s.kind != kindMap {
				c.probs.add(Problem{File: c.file, Line: s.line, Msg: "a merge key (<<) takes a mapping or a list of mappings, got " + s.describe()})
				continue
			}
			for _, p := range s.pairs {
				if !hasKey(out.pairs, p.key) {
					out.pairs = append(out.pairs, p)
				}
			}
		}
		if m.kind != kindMap && m.kind != kindSeq {
			c.probs.add(Problem{File: c.file, Line: m.line, Msg: "a merge key (<<) takes a mapping or a list of mappings, got " + m.describe()})
		}
	}
	return out
}

func hasKey(ps []pair, key string) bool {
	for _, p := range ps {
		if p.key == key {
			return true
		}
	}
	return false
}

// trimYAMLError keeps the first line of a goccy error (the rest is a
// source excerpt that may hold secrets).
func trimYAMLError(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
