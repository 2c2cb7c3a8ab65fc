package weft_test

import (
	"testing"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/catalog"
)

// TestScopeAllows: a scope decides tools by server list and name patterns,
// and a server's resources, prompts and completions by whether the scope
// could allow one of its tools.
func TestScopeAllows(t *testing.T) {
	memRead := &catalog.Tool{Name: "memory__read_graph", Server: "memory"}
	ghIssue := &catalog.Tool{Name: "github__create_issue", Server: "github"}
	cases := []struct {
		name                    string
		scope                   weft.Scope
		memTool, ghTool         bool
		memServer, githubServer bool
	}{
		{"unlimited", weft.Scope{}, true, true, true, true},
		{"servers", weft.Scope{Servers: []string{"memory"}}, true, false, true, false},
		{"server pattern", weft.Scope{Tools: []string{"memory__*"}}, true, false, true, false},
		{"exact tool", weft.Scope{Tools: []string{"github__create_issue"}}, false, true, false, true},
		{"any server, some tools", weft.Scope{Tools: []string{"*__read*"}}, true, false, true, true},
		{"star", weft.Scope{Tools: []string{"*"}}, true, true, true, true},
		{"prefix shorter than a server", weft.Scope{Tools: []string{"mem*"}}, true, false, true, false},
		{"servers and tools", weft.Scope{Servers: []string{"github"}, Tools: []string{"memory__*"}}, false, false, false, false},
		{"a server name that extends another", weft.Scope{Tools: []string{"memory2__*"}}, false, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := [4]bool{c.scope.Allows(memRead), c.scope.Allows(ghIssue), c.scope.AllowsServer("memory"), c.scope.AllowsServer("github")}
			want := [4]bool{c.memTool, c.ghTool, c.memServer, c.githubServer}
			if got != want {
				t.Errorf("Allows(memory tool), Allows(github tool), AllowsServer(memory), AllowsServer(github) = %v, want %v", got, want)
			}
		})
	}
}
