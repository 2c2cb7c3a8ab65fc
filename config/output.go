package config

import (
	"maps"
	"slices"

	"github.com/goccy/go-yaml"
)

// yamlServer is a Server as printed by YAML: empty fields left out.
type yamlServer struct {
	Transport      Transport         `yaml:"transport,omitempty"`
	Command        string            `yaml:"command,omitempty"`
	Args           []string          `yaml:"args,omitempty"`
	Env            map[string]string `yaml:"env,omitempty"`
	Cwd            string            `yaml:"cwd,omitempty"`
	InheritEnv     []string          `yaml:"inherit_env,omitempty"`
	URL            string            `yaml:"url,omitempty"`
	Headers        map[string]string `yaml:"headers,omitempty"`
	Timeout        Duration          `yaml:"timeout,omitempty"`
	Enabled        *bool             `yaml:"enabled,omitempty"`
	MaxConcurrency int               `yaml:"max_concurrency,omitempty"`
	Description    string            `yaml:"description,omitempty"`
	Tags           []string          `yaml:"tags,omitempty"`
	Cache          *ServerCache      `yaml:"cache,omitempty"`
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
	Code           Code          `yaml:"code"`
	Plans          Plans         `yaml:"plans"`
	Gateway        yamlGateway   `yaml:"gateway"`
	Log            Log           `yaml:"log"`
	Models         yaml.MapSlice `yaml:"models"`
	Ask            Ask           `yaml:"ask"`
	Telemetry      Telemetry     `yaml:"telemetry"`
	Runs           Runs          `yaml:"runs"`
}

// yamlGateway is a Gateway as printed by YAML: empty lists (which mean
// "all") left out.
type yamlGateway struct {
	Endpoints              []yamlEndpoint `yaml:"endpoints"`
	APIKeys                []yamlAPIKey   `yaml:"api_keys,omitempty"`
	AllowedOrigins         []string       `yaml:"allowed_origins,omitempty"`
	MaxConcurrentPerClient int            `yaml:"max_concurrent_per_client"`
}

type yamlEndpoint struct {
	Path    string   `yaml:"path"`
	Mode    string   `yaml:"mode"`
	Servers []string `yaml:"servers,omitempty"`
	Tools   []string `yaml:"tools,omitempty"`
}

type yamlAPIKey struct {
	Name              string   `yaml:"name"`
	Hash              string   `yaml:"hash"`
	Servers           []string `yaml:"servers,omitempty"`
	Tools             []string `yaml:"tools,omitempty"`
	RequestsPerMinute int      `yaml:"requests_per_minute,omitempty"`
}

// gatewayYAML converts g for printing.
func gatewayYAML(g Gateway) yamlGateway {
	out := yamlGateway{Endpoints: []yamlEndpoint{}, AllowedOrigins: g.AllowedOrigins, MaxConcurrentPerClient: g.MaxConcurrentPerClient}
	for _, e := range g.Endpoints {
		out.Endpoints = append(out.Endpoints, yamlEndpoint(e))
	}
	for _, k := range g.APIKeys {
		out.APIKeys = append(out.APIKeys, yamlAPIKey(k))
	}
	return out
}

// YAML renders the effective configuration as weft.yaml text — every
// section, servers sorted by name (those imported from mcp.json included,
// under their weft names) — with secrets masked as by Redacted. It is what
// `weft config check` prints, and it loads back as the same configuration
// (with masked values in place of secrets).
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
		Code:           r.Code,
		Plans:          r.Plans,
		Gateway:        gatewayYAML(r.Gateway),
		Log:            r.Log,
		Models:         yaml.MapSlice{},
		Ask:            r.Ask,
		Telemetry:      r.Telemetry,
		Runs:           r.Runs,
	}
	for _, name := range slices.Sorted(maps.Keys(r.Models)) {
		out.Models = append(out.Models, yaml.MapItem{Key: name, Value: r.Models[name]})
	}
	names := make([]*Server, 0, len(r.Servers))
	for _, s := range r.Servers {
		names = append(names, s)
	}
	sortServers(names)
	for _, s := range names {
		out.Servers = append(out.Servers, yaml.MapItem{Key: s.Name, Value: yamlServer{
			Transport: s.Transport, Command: s.Command, Args: s.Args, Env: s.Env, Cwd: s.Cwd, InheritEnv: s.InheritEnv,
			URL: s.URL, Headers: s.Headers, Timeout: s.Timeout, Enabled: s.Enabled,
			MaxConcurrency: s.MaxConcurrency, Description: s.Description, Tags: s.Tags, Cache: s.Cache,
		}})
	}
	return yaml.MarshalWithOptions(out, yaml.Indent(2), yaml.IndentSequence(true))
}
