package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOptions says where Load looks for configuration.
type LoadOptions struct {
	// Path is the file named by --config; "" to discover one.
	Path string
	// Env looks up environment variables; nil means os.LookupEnv.
	Env func(key string) (string, bool)
	// HomeDir is the user's home directory; "" means os.UserHomeDir().
	HomeDir string
}

// Load finds, reads and validates the configuration. The file is, in
// order: opts.Path, $WEFT_CONFIG, ./weft.yaml, ~/.config/weft/weft.yaml.
// When none exists the defaults are used (with environment overrides), but
// a file named by opts.Path or WEFT_CONFIG that does not exist is an error.
// Every problem is reported at once, in an *Error.
func Load(opts LoadOptions) (*Config, error) {
	env := opts.Env
	if env == nil {
		env = os.LookupEnv
	}
	explicit, by := opts.Path, "--config"
	if explicit == "" {
		if v, ok := env("WEFT_CONFIG"); ok && v != "" {
			explicit, by = v, "WEFT_CONFIG"
		}
	}
	if explicit != "" {
		data, err := os.ReadFile(explicit)
		if err != nil {
			return nil, readError(explicit, by, err)
		}
		return build(explicit, data, env)
	}
	candidates := []string{"weft.yaml"}
	home := opts.HomeDir
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	if home != "" {
		candidates = append(candidates, filepath.Join(home, ".config", "weft", "weft.yaml"))
	}
	for _, path := range candidates {
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, readError(path, "", err)
		}
		return build(path, data, env)
	}
	return build("", nil, env)
}

// Parse reads a weft.yaml held in memory, as Load does for a file: name is
// used in messages and as the base of a relative mcp_servers_file; env
// (nil means os.LookupEnv) serves ${VAR} expansion and the environment
// overrides.
func Parse(name string, data []byte, env func(key string) (string, bool)) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	if name == "" {
		name = "weft.yaml"
	}
	return build(name, data, env)
}

// build runs the whole pipeline: defaults, the file (when name != ""),
// environment overrides, mcp.json import, validation.
func build(name string, data []byte, env func(string) (string, bool)) (*Config, error) {
	var probs problems
	orig := newOrigins()
	c := Default()
	if name != "" {
		c.Path = name
		d := &decoder{file: name, env: env, probs: &probs, orig: orig, strict: true}
		if root := parseYAML(name, data, &probs); root != nil {
			d.config(root, c)
		}
		if c.MCPServersFile != "" && !filepath.IsAbs(c.MCPServersFile) {
			c.MCPServersFile = filepath.Join(filepath.Dir(name), c.MCPServersFile)
		}
	}
	applyEnv(c, env, orig, &probs)
	if c.MCPServersFile != "" && !orig.broken["mcp_servers_file"] {
		importMCP(c, env, orig, &probs)
	}
	validate(c, orig, &probs)
	if err := probs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

func readError(path, by string, err error) error {
	msg := "cannot read: " + err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = "cannot read: " + pe.Err.Error()
	}
	if errors.Is(err, fs.ErrNotExist) {
		msg = "no such file"
	}
	if by != "" {
		msg += " (named by " + by + ")"
	}
	return &Error{Problems: []Problem{{File: path, Msg: msg}}}
}
