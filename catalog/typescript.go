package catalog

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file renders tools as TypeScript for code mode: a one-line signature
// per tool (TypeScriptSignature) and the declarations of the `tools`
// namespace a program calls into (TypeScriptDeclarations).
//
// # Identifier mapping
//
// In code mode a tool is called as tools.<server>.<tool>(args). Both parts
// are derived by TSIdent from the server name and the tool's upstream
// (original) name:
//
//   - every character outside [A-Za-z0-9_$] becomes '_' ("get-weather" and
//     "get.weather" both become "get_weather");
//   - a leading digit gets a '_' prefix ("2fa" becomes "_2fa"), an empty name
//     becomes "_";
//   - a JavaScript reserved word gets a '_' suffix ("delete" becomes "delete_").
//
// When two tools of one server (or two servers) map onto the same identifier,
// the one whose catalog name sorts first keeps it and the others get "_2",
// "_3", ... in catalog-name order. Because collisions depend on which tools
// are present, TypeScriptNames computes the mapping over a whole set of tools;
// code mode uses the full catalog snapshot so identifiers do not change with
// a run's allowed-tools filter.

// TSName is where a tool appears in code mode: tools.<Server>.<Tool>.
type TSName struct {
	Server string `json:"server"`
	Tool   string `json:"tool"`
}

// Path is the expression that reaches the tool from the namespace, e.g. "tools.weather.get_weather".
func (n TSName) Path(namespace string) string { return namespace + "." + n.Server + "." + n.Tool }

// jsReserved holds the words that cannot be used as a binding identifier,
// plus a few globals that would be confusing to shadow.
var jsReserved = map[string]bool{
	"break": true, "case": true, "catch": true, "class": true, "const": true, "continue": true,
	"debugger": true, "default": true, "delete": true, "do": true, "else": true, "enum": true,
	"export": true, "extends": true, "false": true, "finally": true, "for": true, "function": true,
	"if": true, "import": true, "in": true, "instanceof": true, "new": true, "null": true,
	"return": true, "super": true, "switch": true, "this": true, "throw": true, "true": true,
	"try": true, "typeof": true, "var": true, "void": true, "while": true, "with": true,
	"yield": true, "let": true, "static": true, "implements": true, "interface": true,
	"package": true, "private": true, "protected": true, "public": true, "await": true,
	"arguments": true, "eval": true, "undefined": true, "NaN": true, "Infinity": true,
	"constructor": true, "prototype": true, "__proto__": true,
}

// TSIdent maps s onto a valid JavaScript identifier (see the mapping rules above).
func TSIdent(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '_' || r == '$' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	switch {
	case out == "":
		return "_"
	case out[0] >= '0' && out[0] <= '9':
		out = "_" + out
	}
	if jsReserved[out] {
		out += "_"
	}
	return out
}

// TypeScriptNames computes the code-mode identifiers of tools, keyed by
// catalog name. The result depends only on the set of tools, not their order.
func TypeScriptNames(tools []*Tool) map[string]TSName {
	sorted := slices.Clone(tools)
	slices.SortFunc(sorted, func(a, b *Tool) int { return strings.Compare(a.Name, b.Name) })

	// Servers first, in sorted order.
	var servers []string
	for _, t := range sorted {
		servers = append(servers, t.Server)
	}
	slices.Sort(servers)
	servers = slices.Compact(servers)
	serverIdent := make(map[string]string, len(servers))
	takenServer := map[string]bool{}
	for _, s := range servers {
		serverIdent[s] = uniqueIdent(TSIdent(s), takenServer)
	}

	out := make(map[string]TSName, len(sorted))
	taken := map[string]map[string]bool{}
	for _, t := range sorted {
		si := serverIdent[t.Server]
		if taken[si] == nil {
			taken[si] = map[string]bool{}
		}
		orig := t.Original
		if orig == "" {
			orig = t.Name
		}
		out[t.Name] = TSName{Server: si, Tool: uniqueIdent(TSIdent(orig), taken[si])}
	}
	return out
}

func uniqueIdent(base string, taken map[string]bool) string {
	id := base
	for n := 2; taken[id]; n++ {
		id = base + "_" + strconv.Itoa(n)
	}
	taken[id] = true
	return id
}

// TypeScriptSignature renders a tool as one compact line, e.g.
//
//	get_weather(args: { city: string; units?: "c" | "f" }): Promise<{ temp: number }>
//
// The name is TSIdent of the tool's original name; the output type is
// "unknown" when the tool declares no output schema. Local $refs are inlined
// (recursive ones become "unknown"); descriptions are left out.
func TypeScriptSignature(t *Tool) string {
	r := &tsRenderer{inline: true, maxDesc: -1}
	name := t.Original
	if name == "" {
		name = t.Name
	}
	return TSIdent(name) + r.function(t, "")
}

// TSOptions adjust TypeScriptDeclarations.
type TSOptions struct {
	// Namespace is the name of the declared namespace; "" means "tools".
	Namespace string
	// NameScope is the set of tools identifiers are computed over (see
	// TypeScriptNames); nil means the tools being declared. Pass the whole
	// snapshot's tools to get the identifiers a code-mode run uses.
	NameScope []*Tool
	// MaxDescription truncates descriptions to this many characters (with
	// "…"); 0 means 240, negative means no descriptions at all.
	MaxDescription int
}

// TypeScriptDeclarations renders the declarations of the code-mode namespace
// for tools: one nested namespace per server, one async function per tool
// with its description as a doc comment, argument and result types from the
// tool's input and output schemas, and named type aliases for local $refs
// ("$defs"/"definitions") as <tool>_<Def>. Output is deterministic (servers
// and tools sorted by identifier).
func TypeScriptDeclarations(tools []*Tool, opts TSOptions) string {
	ns := opts.Namespace
	if ns == "" {
		ns = "tools"
	}
	maxDesc := opts.MaxDescription
	if maxDesc == 0 {
		maxDesc = 240
	}
	scope := opts.NameScope
	if scope == nil {
		scope = tools
	} else {
		// Every declared tool must have a name even if missing from the scope.
		seen := map[string]bool{}
		for _, t := range scope {
			seen[t.Name] = true
		}
		scope = slices.Clone(scope)
		for _, t := range tools {
			if !seen[t.Name] {
				scope = append(scope, t)
			}
		}
	}
	names := TypeScriptNames(scope)

	type entry struct {
		name TSName
		tool *Tool
	}
	byServer := map[string][]entry{}
	serverDesc := map[string]string{}
	var servers []string
	for _, t := range tools {
		n := names[t.Name]
		if _, ok := byServer[n.Server]; !ok {
			servers = append(servers, n.Server)
		}
		byServer[n.Server] = append(byServer[n.Server], entry{n, t})
		if t.ServerDescription != "" {
			serverDesc[n.Server] = t.ServerDescription
		}
	}
	slices.Sort(servers)

	var b strings.Builder
	fmt.Fprintf(&b, "declare namespace %s {\n", ns)
	for _, s := range servers {
		writeDoc(&b, "  ", clip(serverDesc[s], maxDesc), "")
		fmt.Fprintf(&b, "  namespace %s {\n", s)
		es := byServer[s]
		slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.name.Tool, b.name.Tool) })
		for _, e := range es {
			r := &tsRenderer{maxDesc: maxDesc, aliasPrefix: e.name.Tool + "_"}
			sig := r.function(e.tool, "    ")
			desc := e.tool.Description
			if desc == "" && e.tool.DisplayTitle() != e.tool.Original {
				desc = e.tool.DisplayTitle()
			}
			writeDoc(&b, "    ", clip(desc, maxDesc), "")
			fmt.Fprintf(&b, "    function %s%s;\n", e.name.Tool, sig)
			for _, a := range r.aliasOrder {
				fmt.Fprintf(&b, "    type %s = %s;\n", a, r.aliasBody[a])
			}
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// clip normalises whitespace and truncates to max characters; max < 0 drops the text.
func clip(s string, max int) string {
	if max < 0 {
		return ""
	}
	s = strings.Join(strings.Fields(s), " ")
	if max > 0 && utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = strings.TrimRight(string(r[:max-1]), " ") + "…"
	}
	return s
}

// writeDoc writes a one-line JSDoc comment; it writes nothing when text and tag are empty.
func writeDoc(b *strings.Builder, indent, text, tag string) {
	text = strings.TrimSpace(strings.Join([]string{text, tag}, " "))
	if text == "" {
		return
	}
	text = strings.ReplaceAll(text, "*/", "*\\/")
	fmt.Fprintf(b, "%s/** %s */\n", indent, text)
}
