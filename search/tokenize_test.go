package search

import (
	"slices"
	"testing"
)

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"getWeRead2Rank", []string{"get", "we", "read", "2", "rank"}},
		{"get-weread-rank", []string{"get", "weread", "rank"}},
		{"HTTPServer_list.items", []string{"http", "server", "list", "items"}},
		{"listIDs forURLs", []string{"list", "ids", "for", "urls"}},
		{"base64Encode mp3", []string{"base", "64", "encode", "mp", "3"}},
		{"Ärger ÜberPrüfung", []string{"ärger", "über", "prüfung"}},
		{"使用必应搜索", []string{"使用", "用必", "必应", "应搜", "搜索"}},
		{"MCP (Model Context Protocol) 的中文", []string{"mcp", "model", "context", "protocol", "的中", "中文"}},
		{"x 中 y", []string{"x", "中", "y"}},
		{"ニュース検索", []string{"ニュ", "ュー", "ース", "ス検", "検索"}},
		{"", nil},
	}
	for _, tt := range tests {
		var got []string
		splitWords(tt.in, nil, func(w []byte, _ bool) { got = append(got, string(w)) })
		if !slices.Equal(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"I want to create files", []string{"want", "creat", "fil"}},
		{"createFile creating created creates", []string{"creat", "fil", "creat", "creat", "creat"}},
		{"Searches the queries", []string{"search", "query"}},
		{"running mapped status analysis", []string{"run", "map", "status", "analysis"}},
	}
	for _, tt := range tests {
		if got := Tokens(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
