package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// mcpTypes maps the "type" values of the mcp.json dialects to transports:
// Claude Desktop, Cursor and Claude Code ("mcpServers") and VS Code
// ("servers").
var mcpTypes = map[string]Transport{
	"stdio":           TransportStdio,
	"http":            TransportHTTP,
	"streamable-http": TransportHTTP,
	"streamableHttp":  TransportHTTP,
	"sse":             TransportSSE,
}

const mcpTypesAllowed = "stdio, http, streamable-http, streamableHttp, sse"

// imported is one server read from an mcp.json, with its own problems and
// origins so that it can be dropped whole when weft.yaml defines the same
// name.
type imported struct {
	name   string // the weft name (see importedNames)
	server *Server
	probs  problems
	orig   *origins
}

// importMCP reads c.MCPServersFile and adds its servers to c.Servers,
// except names c.Servers already has (weft.yaml wins). A name that is not
// a valid weft server name is imported under a derived one (see
// importedNames), recorded in Server.MCPName.
func importMCP(c *Config, env func(string) (string, bool), orig *origins, probs *problems) {
	path := c.MCPServersFile
	data, err := os.ReadFile(path)
	if err != nil {
		o, ok := orig.at["mcp_servers_file"]
		if !ok {
			o = origin{Path: "mcp_servers_file", Raw: path}
		}
		why := "cannot read: " + err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			why = "cannot read " + path + ": " + pe.Err.Error()
		}
		if errors.Is(err, fs.ErrNotExist) {
			why = "no such file (looked for " + path + ")"
		}
		probs.add(Problem{File: o.File, Line: o.Line, Path: o.Path, Msg: quote(o.Raw) + ": " + why})
		return
	}
	servers := parseMCP(path, data, env, probs, func(name string) bool { return c.Servers[name] != nil })
	for _, im := range servers {
		if _, ok := c.Servers[im.name]; ok {
			continue // weft.yaml wins
		}
		c.Servers[im.name] = im.server
		*probs = append(*probs, im.probs...)
		for k, v := range im.orig.at {
			orig.at[k] = v
		}
		for k := range im.orig.broken {
			orig.broken[k] = true
		}
	}
}

// parseMCP decodes an mcp.json document. Problems of the file as a whole go
// to probs; problems of one server stay with that server. taken reports the
// server names weft.yaml defines; a derived name never takes one of them.
func parseMCP(file string, data []byte, env func(string) (string, bool), probs *problems, taken func(string) bool) []*imported {
	root := parseJSON(file, data, probs)
	if root == nil {
		return nil
	}
	if root.kind != kindMap {
		probs.add(Problem{File: file, Line: root.line, Msg: "expected a JSON object with \"mcpServers\" or \"servers\", got " + root.describe()})
		return nil
	}
	type entry struct {
		section string
		kv      pair
	}
	var entries []entry
	found := false
	seen := map[string]int{}
	for _, kv := range root.pairs {
		if kv.key != "mcpServers" && kv.key != "servers" {
			continue // other keys belong to the client that wrote the file
		}
		found = true
		if kv.val.kind == kindNull {
			continue
		}
		if kv.val.kind != kindMap {
			probs.add(Problem{File: file, Line: kv.val.line, Path: kv.key, Msg: "expected an object of servers, got " + kv.val.describe()})
			continue
		}
		for _, s := range kv.val.pairs {
			if first, dup := seen[s.key]; dup {
				probs.add(Problem{File: file, Line: s.line, Path: kv.key + "." + segment(s.key), Msg: fmt.Sprintf("duplicate server (first at line %d)", first)})
				continue
			}
			seen[s.key] = s.line
			entries = append(entries, entry{kv.key, s})
		}
	}
	if !found {
		probs.add(Problem{File: file, Line: root.line, Msg: `no "mcpServers" (Claude Desktop, Cursor, Claude Code) or "servers" (VS Code) object`})
	}
	originals := make([]string, len(entries))
	for i, e := range entries {
		originals[i] = e.kv.key
	}
	names := importedNames(originals, taken)
	out := make([]*imported, len(entries))
	for i, e := range entries {
		out[i] = decodeMCPServer(file, e.section, e.kv, names[e.kv.key], env)
	}
	return out
}

// decodeMCPServer decodes the server kv of an mcp.json section under the
// weft name name. Problems name the server as the file does.
func decodeMCPServer(file, section string, kv pair, name string, env func(string) (string, bool)) *imported {
	im := &imported{name: name, orig: newOrigins()}
	s := &Server{Name: name, Origin: fmt.Sprintf("%s:%d", file, kv.line)}
	if name != kv.key {
		s.MCPName = kv.key
	}
	im.server = s
	d := &decoder{file: file, env: env, probs: &im.probs, orig: im.orig}
	p := fpath{key: "servers", show: section}.child(name, kv.key)
	d.orig.at[p.key] = origin{File: file, Line: kv.line, Path: p.show}
	f := func(key, show string) fpath { return p.child(key, show) }
	d.object(kv.val, p, []field{
		{"command", func(v *node) { d.str(v, f("command", "command"), &s.Command) }},
		{"args", func(v *node) { d.strList(v, f("args", "args"), &s.Args) }},
		{"env", func(v *node) { d.secretMap(v, f("env", "env"), &s.Env) }},
		{"cwd", func(v *node) { d.str(v, f("cwd", "cwd"), &s.Cwd) }},
		{"url", func(v *node) { d.str(v, f("url", "url"), &s.URL) }},
		{"headers", func(v *node) { d.secretMap(v, f("headers", "headers"), &s.Headers) }},
		{"type", func(v *node) {
			fp := f("transport", "type")
			var t string
			d.str(v, fp, &t)
			if t == "" {
				return
			}
			tr, ok := mcpTypes[t]
			if !ok {
				d.bad(v, fp, "not a server type (allowed: "+mcpTypesAllowed+")")
				return
			}
			s.Transport = tr
		}},
		{"disabled", func(v *node) {
			if b, ok := d.boolean(v, f("enabled", "disabled")); ok {
				enabled := !b
				s.Enabled = &enabled
			}
		}},
	}, "")
	if kv.val.kind == kindNull {
		d.problem(kv.line, p, "expected an object with \"command\" or \"url\", got nothing (null)")
	}
	return im
}
