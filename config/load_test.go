package config

import (
	"os"
	"path/filepath"
	"testing"
)

// write creates path (and its directory) with a config whose
// server.addr port tells which file was loaded.
func writeConfig(t *testing.T, path, port string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("server:\n  addr: \"127.0.0.1:"+port+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDiscoveryOrder(t *testing.T) {
	root := t.TempDir()
	flag := filepath.Join(root, "flag.yaml")
	envFile := filepath.Join(root, "env.yaml")
	cwd := filepath.Join(root, "work")
	home := filepath.Join(root, "home")
	homeFile := filepath.Join(home, ".config", "weft", "weft.yaml")
	writeConfig(t, flag, "1")
	writeConfig(t, envFile, "2")
	writeConfig(t, filepath.Join(cwd, "weft.yaml"), "3")
	writeConfig(t, homeFile, "4")
	t.Chdir(cwd)

	tests := []struct {
		name     string
		opts     LoadOptions
		remove   []string // files removed before this case
		wantAddr string
		wantPath string
	}{
		{"--config first", LoadOptions{Path: flag, Env: envOf(map[string]string{"WEFT_CONFIG": envFile}), HomeDir: home}, nil, "127.0.0.1:1", flag},
		{"then WEFT_CONFIG", LoadOptions{Env: envOf(map[string]string{"WEFT_CONFIG": envFile}), HomeDir: home}, nil, "127.0.0.1:2", envFile},
		{"then ./weft.yaml", LoadOptions{Env: envOf(nil), HomeDir: home}, nil, "127.0.0.1:3", "weft.yaml"},
		{"empty WEFT_CONFIG is unset", LoadOptions{Env: envOf(map[string]string{"WEFT_CONFIG": ""}), HomeDir: home}, nil, "127.0.0.1:3", "weft.yaml"},
		{"then ~/.config/weft/weft.yaml", LoadOptions{Env: envOf(nil), HomeDir: home}, []string{filepath.Join(cwd, "weft.yaml")}, "127.0.0.1:4", homeFile},
		{"then defaults", LoadOptions{Env: envOf(nil), HomeDir: home}, []string{homeFile}, DefaultAddr, ""},
		{"defaults with environment", LoadOptions{Env: envOf(map[string]string{"WEFT_ADDR": ":7"}), HomeDir: home}, nil, ":7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range tt.remove {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(tt.opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Server.Addr != tt.wantAddr || c.Path != tt.wantPath {
				t.Errorf("Load: addr %q from %q, want %q from %q", c.Server.Addr, c.Path, tt.wantAddr, tt.wantPath)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	root := t.TempDir()
	missing := filepath.Join(root, "missing.yaml")
	t.Chdir(root)
	if err := os.Mkdir(filepath.Join(root, "weft.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(root, "bad.yaml")
	if err := os.WriteFile(bad, []byte("log:\n  level: loud\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts LoadOptions
		want string
	}{
		{"--config missing", LoadOptions{Path: missing, Env: envOf(nil), HomeDir: root}, missing + ": no such file (named by --config)"},
		{"WEFT_CONFIG missing", LoadOptions{Env: envOf(map[string]string{"WEFT_CONFIG": missing}), HomeDir: root}, missing + ": no such file (named by WEFT_CONFIG)"},
		{"discovered file unreadable", LoadOptions{Env: envOf(nil), HomeDir: root}, "weft.yaml: cannot read: is a directory"},
		{"invalid file", LoadOptions{Path: bad, Env: envOf(nil)}, bad + `:2: log.level: "loud": not a log level (allowed: debug, info, warn, error)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.opts)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Load error = %v, want %q", err, tt.want)
			}
		})
	}
}
