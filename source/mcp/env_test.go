package mcp

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/weft-dev/weft/internal/testenv"
)

func TestChildEnv(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin", "HOME=/home/w", "USER=w", "LANG=C.UTF-8", "LC_ALL=C", "TZ=UTC", "TMPDIR=/tmp/w",
		"AZURE_OPENAI_API_KEY=sk-weft", "GITHUB_TOKEN=ghp_x", "AWS_REGION=eu", "AWS_SECRET_ACCESS_KEY=aws",
		"npm_config_cache=/c", "npm_config__authToken=npmtok", "NPM_CONFIG_REGISTRY=https://r",
		"BASH_FUNC_f%%=() { echo; }", "HTTPS_PROXY=http://proxy:3128", "MY_SETTING=1",
	}
	for _, tc := range []struct {
		name    string
		inherit []string
		extra   map[string]string
		want    []string
	}{
		{"defaults", nil, nil, []string{"HOME=/home/w", "HTTPS_PROXY=http://proxy:3128", "LANG=C.UTF-8", "LC_ALL=C",
			"NPM_CONFIG_REGISTRY=https://r", "PATH=/usr/bin", "TMPDIR=/tmp/w", "TZ=UTC", "USER=w", "npm_config_cache=/c"}},
		{"inherit names and prefixes", []string{"MY_SETTING", "AWS_*"}, nil, []string{"AWS_REGION=eu", "AWS_SECRET_ACCESS_KEY=aws",
			"HOME=/home/w", "HTTPS_PROXY=http://proxy:3128", "LANG=C.UTF-8", "LC_ALL=C", "MY_SETTING=1",
			"NPM_CONFIG_REGISTRY=https://r", "PATH=/usr/bin", "TMPDIR=/tmp/w", "TZ=UTC", "USER=w", "npm_config_cache=/c"}},
		{"configured env wins", nil, map[string]string{"PATH": "/opt/bin", "API_KEY": "own"}, []string{"API_KEY=own",
			"HOME=/home/w", "HTTPS_PROXY=http://proxy:3128", "LANG=C.UTF-8", "LC_ALL=C",
			"NPM_CONFIG_REGISTRY=https://r", "PATH=/opt/bin", "TMPDIR=/tmp/w", "TZ=UTC", "USER=w", "npm_config_cache=/c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := childEnv(environ, tc.inherit, tc.extra); !slices.Equal(got, tc.want) {
				t.Fatalf("childEnv =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
	all := childEnv(environ, []string{"*"}, nil)
	if len(all) != len(environ)-1 { // everything but the shell function
		t.Fatalf("inherit * = %q", all)
	}
}

func TestInheritEnvValidation(t *testing.T) {
	for _, p := range []string{"", "A=B", "A*B", "**"} {
		if _, err := New(Config{Name: "a", Command: "x", InheritEnv: []string{p}}, nil); err == nil {
			t.Errorf("inherit_env %q accepted", p)
		}
	}
	if _, err := New(Config{Name: "a", Command: "x", InheritEnv: []string{"*", "AWS_*", "HOME"}}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestStdioEnvNotInherited: weft's own secrets do not reach a stdio
// upstream; the defaults, the configured env and inherit_env do. Checked
// with the test server and with the reference server's get-env tool, which
// prints its whole environment.
func TestStdioEnvNotInherited(t *testing.T) {
	t.Setenv("AZURE_OPENAI_API_KEY", "weft-own-key-123")
	t.Setenv("WEFT_TEST_PASS_A", "passed")
	t.Setenv("LANG", "C.UTF-8")

	cfg, _ := stdioConfig(t, "normal")
	u, _ := start(t, cfg)
	for name, want := range map[string]string{"AZURE_OPENAI_API_KEY": "", "WEFT_TEST_PASS_A": "", "LANG": "C.UTF-8"} {
		if got := mustText(t, u, "env", `{"message":"`+name+`"}`); got[:len(want)+1] != want+"|" {
			t.Errorf("%s = %q in the child, want %q", name, got, want)
		}
	}
	cfg.Name += "-inherit"
	cfg.InheritEnv = []string{"WEFT_TEST_PASS_*"}
	u2, _ := start(t, cfg)
	if got := mustText(t, u2, "env", `{"message":"WEFT_TEST_PASS_A"}`); got[:7] != "passed|" {
		t.Errorf("inherit_env: WEFT_TEST_PASS_A = %q in the child", got)
	}

	bin := testenv.NPMBin(t, "mcp-server-everything")
	ev, _ := start(t, Config{Name: "everything", Command: bin, Args: []string{"stdio"}, Env: map[string]string{"SERVER_SETTING": "on"}})
	var env map[string]string
	if err := json.Unmarshal([]byte(mustText(t, ev, "get-env", `{}`)), &env); err != nil {
		t.Fatalf("get-env: %v", err)
	}
	if _, ok := env["AZURE_OPENAI_API_KEY"]; ok {
		t.Errorf("the upstream read weft's AZURE_OPENAI_API_KEY")
	}
	if env["SERVER_SETTING"] != "on" || env["PATH"] == "" || env["LANG"] != "C.UTF-8" {
		t.Errorf("upstream env lacks the configured or default variables: %v", env)
	}
	for name := range env {
		if !inheritedByDefault(name) && name != "SERVER_SETTING" {
			t.Errorf("upstream env has %s, which is neither a default nor configured", name)
		}
	}
}
