package config

import (
	"github.com/goccy/go-yaml"
)

// yamlServer is a Server as printed by YAML: empty fields left out.
type yamlServer struct {
	Transport      Transport         `yaml:"transport,omitempty"`
	Command        string            `yaml:"command,omitempty"`
	Args           []string          `yaml:"args,omitempty"`
	Env            map[string]string `yaml:"env,omitempty"`
	Cwd            string            `yaml:"cwd,omitempty"`
	URL            string            `yaml:"url,omitempty"`
	Headers        map[string]string `yaml:"headers,omitempty"`
	Timeout        Duration          `yaml:"timeout,omitempty"`
	Enabled        *bool             `yaml:"enabled,omitempty"`
	MaxConcurrency int               `yaml:"max_concurrency,omitempty"`
	Description    string            `yaml:"description,omitempty"`
	Tags           []string          `yaml:"tags,omitempty"`
}

// yamlConfig is a Config as printed by YAML.
type yamlConfig struct {
	Servers        yaml.MapSlice `yaml:"servers"`
	MCPServersFile string        `yaml:"mcp_servers_file,omitempty"`
	Limits         Limits        `yaml:"limits"`
	Catalog        Catalog       `yaml:"catalog"`
	Cache          Cache         `yaml:"cache"`
	Analytics      Analytics     `yaml:"analytics"`
	Server         HTTP          `yaml:"server"`
	Search         Search        `yaml:"search"`
	Log            Log           `yaml:"log"`
}

// YAML renders the effective configuration as weft.yaml text, servers
// sorted by name (those imported from mcp.json included), with secrets
// masked as by Redacted. It is what `weft config check` prints.
func (c *Config) YAML() ([]byte, error) {
	r := c.Redacted()
	out := yamlConfig{
		Servers:        yaml.MapSlice{},
		MCPServersFile: r.MCPServersFile,
		Limits:         r.Limits,
		Catalog:        r.Catalog,
		Cache:          r.Cache,
		Analytics:      r.Analytics,
		Server:         r.Server,
		Search:         r.Search,
		Log:            r.Log,
	}
	names := make([]*Server, 0, len(r.Servers))
	for _, s := range r.Servers {
		names = append(names, s)
	}
	sortServers(names)
	for _, s := range names {
		out.Servers = append(out.Servers, yaml.MapItem{Key: s.Name, Value: yamlServer{
			Transport: s.Transport, Command: s.Command, Args: s.Args, Env: s.Env, Cwd: s.Cwd,
			URL: s.URL, Headers: s.Headers, Timeout: s.Timeout, Enabled: s.Enabled,
			MaxConcurrency: s.MaxConcurrency, Description: s.Description, Tags: s.Tags,
		}})
	}
	return yaml.MarshalWithOptions(out, yaml.Indent(2), yaml.IndentSequence(true))
}
