package config

import (
	"fmt"
	"strings"
)

// config decodes a weft.yaml document into c, on top of its defaults.
// Top-level keys starting with "x-" are ignored: they are the place for
// YAML anchors shared by several servers.
func (d *decoder) config(n *node, c *Config) {
	root := fpath{}
	if n.kind == kindMap {
		kept := &node{kind: kindMap, line: n.line}
		for _, kv := range n.pairs {
			if !strings.HasPrefix(kv.key, "x-") {
				kept.pairs = append(kept.pairs, kv)
			}
		}
		n = kept
	}
	sub := func(name string) fpath { return root.child(name, name) }
	d.object(n, root, []field{
		{"servers", func(v *node) { d.servers(v, sub("servers"), c) }},
		{"mcp_servers_file", func(v *node) { d.str(v, sub("mcp_servers_file"), &c.MCPServersFile) }},
		{"limits", func(v *node) { d.limits(v, sub("limits"), &c.Limits) }},
		{"catalog", func(v *node) {
			p := sub("catalog")
			d.object(v, p, []field{
				{"cache_ttl", func(v *node) { d.duration(v, p.child("cache_ttl", "cache_ttl"), &c.Catalog.CacheTTL) }},
			}, "")
		}},
		{"cache", func(v *node) { d.cache(v, sub("cache"), &c.Cache) }},
		{"analytics", func(v *node) { d.analytics(v, sub("analytics"), &c.Analytics) }},
		{"server", func(v *node) { d.http(v, sub("server"), &c.Server) }},
		{"search", func(v *node) { d.search(v, sub("search"), &c.Search) }},
		{"code", func(v *node) { d.code(v, sub("code"), &c.Code) }},
		{"plans", func(v *node) { d.plans(v, sub("plans"), &c.Plans) }},
		{"gateway", func(v *node) { d.gateway(v, sub("gateway"), &c.Gateway) }},
		{"log", func(v *node) {
			p := sub("log")
			d.object(v, p, []field{
				{"level", func(v *node) { d.str(v, p.child("level", "level"), &c.Log.Level) }},
				{"format", func(v *node) { d.str(v, p.child("format", "format"), &c.Log.Format) }},
			}, "")
		}},
		{"models", func(v *node) { d.models(v, sub("models"), c) }},
		{"ask", func(v *node) { d.ask(v, sub("ask"), &c.Ask) }},
		{"telemetry", func(v *node) { d.telemetry(v, sub("telemetry"), &c.Telemetry) }},
		{"runs", func(v *node) { d.runs(v, sub("runs"), &c.Runs) }},
	}, "x-* (ignored; for YAML anchors)")
}

func (d *decoder) limits(n *node, p fpath, l *Limits) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"tool_timeout", func(v *node) { d.duration(v, f("tool_timeout"), &l.ToolTimeout) }},
		{"max_concurrent_tools", func(v *node) { d.integer(v, f("max_concurrent_tools"), &l.MaxConcurrentTools) }},
		{"requests_per_minute", func(v *node) { d.integer(v, f("requests_per_minute"), &l.RequestsPerMinute) }},
		{"discovery_timeout", func(v *node) { d.duration(v, f("discovery_timeout"), &l.DiscoveryTimeout) }},
		{"start_timeout", func(v *node) { d.duration(v, f("start_timeout"), &l.StartTimeout) }},
		{"queue_timeout", func(v *node) { d.duration(v, f("queue_timeout"), &l.QueueTimeout) }},
		{"redis_url", func(v *node) { d.str(v, f("redis_url"), &l.RedisURL) }},
		{"max_concurrent_tools_per_client", func(v *node) {
			d.integer(v, f("max_concurrent_tools_per_client"), &l.MaxConcurrentToolsPerClient)
		}},
		{"redis_fail_mode", func(v *node) { d.str(v, f("redis_fail_mode"), &l.RedisFailMode) }},
	}, "")
}

func (d *decoder) search(n *node, p fpath, s *Search) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"auto_max_tools", func(v *node) { d.integer(v, f("auto_max_tools"), &s.AutoMaxTools) }},
		{"auto_max_tokens", func(v *node) { d.integer(v, f("auto_max_tokens"), &s.AutoMaxTokens) }},
		{"warm", func(v *node) {
			if b, ok := d.boolean(v, f("warm")); ok {
				s.Warm = b
			}
		}},
		{"dense_weight", func(v *node) { d.number(v, f("dense_weight"), &s.DenseWeight) }},
		{"embedder", func(v *node) { d.embedder(v, f("embedder"), &s.Embedder) }},
		{"cache_ttl", func(v *node) { d.duration(v, f("cache_ttl"), &s.CacheTTL) }},
	}, "")
}

func (d *decoder) embedder(n *node, p fpath, e *Embedder) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"url", func(v *node) { d.str(v, f("url"), &e.URL) }},
		{"model", func(v *node) { d.str(v, f("model"), &e.Model) }},
		{"api_key", func(v *node) {
			if s, ok := d.scalar(v, f("api_key"), "a string", true); ok {
				e.APIKey = s
			}
		}},
		{"azure_deployment", func(v *node) { d.str(v, f("azure_deployment"), &e.AzureDeployment) }},
		{"api_version", func(v *node) { d.str(v, f("api_version"), &e.APIVersion) }},
		{"auth", func(v *node) { d.str(v, f("auth"), &e.Auth) }},
		{"dimensions", func(v *node) { d.integer(v, f("dimensions"), &e.Dimensions) }},
		{"send_dimensions", func(v *node) {
			if b, ok := d.boolean(v, f("send_dimensions")); ok {
				e.SendDimensions = b
			}
		}},
		{"batch_size", func(v *node) { d.integer(v, f("batch_size"), &e.BatchSize) }},
		{"timeout", func(v *node) { d.duration(v, f("timeout"), &e.Timeout) }},
		{"cache_ttl", func(v *node) { d.duration(v, f("cache_ttl"), &e.CacheTTL) }},
	}, "")
}

func (d *decoder) http(n *node, p fpath, h *HTTP) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"addr", func(v *node) { d.str(v, f("addr"), &h.Addr) }},
		{"shutdown_timeout", func(v *node) { d.duration(v, f("shutdown_timeout"), &h.ShutdownTimeout) }},
		{"max_body_bytes", func(v *node) { d.int64(v, f("max_body_bytes"), &h.MaxBodyBytes) }},
		{"gc_percent", func(v *node) { d.integer(v, f("gc_percent"), &h.GCPercent) }},
		{"read_timeout", func(v *node) { d.duration(v, f("read_timeout"), &h.ReadTimeout) }},
		{"allowed_hosts", func(v *node) { d.strList(v, f("allowed_hosts"), &h.AllowedHosts) }},
		{"replica_id", func(v *node) { d.str(v, f("replica_id"), &h.ReplicaID) }},
	}, "")
}

func (d *decoder) code(n *node, p fpath, c *Code) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"timeout", func(v *node) { d.duration(v, f("timeout"), &c.Timeout) }},
		{"max_timeout", func(v *node) { d.duration(v, f("max_timeout"), &c.MaxTimeout) }},
		{"memory_mb", func(v *node) { d.integer(v, f("memory_mb"), &c.MemoryMB) }},
		{"max_calls", func(v *node) { d.integer(v, f("max_calls"), &c.MaxCalls) }},
		{"max_concurrent_runs", func(v *node) { d.integer(v, f("max_concurrent_runs"), &c.MaxConcurrentRuns) }},
		{"max_concurrent_runs_per_client", func(v *node) {
			d.integer(v, f("max_concurrent_runs_per_client"), &c.MaxConcurrentRunsPerClient)
		}},
		{"max_memory_mb", func(v *node) { d.integer(v, f("max_memory_mb"), &c.MaxMemoryMB) }},
		{"max_calls_ceiling", func(v *node) { d.integer(v, f("max_calls_ceiling"), &c.MaxCallsCeiling) }},
		{"max_source_kb", func(v *node) { d.integer(v, f("max_source_kb"), &c.MaxSourceKB) }},
		{"max_nesting", func(v *node) { d.integer(v, f("max_nesting"), &c.MaxNesting) }},
	}, "")
}

func (d *decoder) plans(n *node, p fpath, c *Plans) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"max_concurrency", func(v *node) { d.integer(v, f("max_concurrency"), &c.MaxConcurrency) }},
		{"retention", func(v *node) { d.duration(v, f("retention"), &c.Retention) }},
		{"max_runs", func(v *node) { d.integer(v, f("max_runs"), &c.MaxRuns) }},
		{"idempotency_ttl", func(v *node) { d.duration(v, f("idempotency_ttl"), &c.IdempotencyTTL) }},
		{"max_steps", func(v *node) { d.integer(v, f("max_steps"), &c.MaxSteps) }},
		{"max_depth", func(v *node) { d.integer(v, f("max_depth"), &c.MaxDepth) }},
		{"max_foreach_items", func(v *node) { d.integer(v, f("max_foreach_items"), &c.MaxForeachItems) }},
		{"max_result_bytes", func(v *node) { d.integer(v, f("max_result_bytes"), &c.MaxResultBytes) }},
		{"max_record_bytes", func(v *node) { d.integer(v, f("max_record_bytes"), &c.MaxRecordBytes) }},
		{"max_run_bytes", func(v *node) { d.integer(v, f("max_run_bytes"), &c.MaxRunBytes) }},
		{"max_condition_cost", func(v *node) { d.integer(v, f("max_condition_cost"), &c.MaxConditionCost) }},
		{"max_run_condition_cost", func(v *node) { d.integer(v, f("max_run_condition_cost"), &c.MaxRunConditionCost) }},
	}, "")
}

func (d *decoder) gateway(n *node, p fpath, g *Gateway) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"endpoints", func(v *node) {
			g.Endpoints = nil // the file's list replaces the default
			d.list(v, f("endpoints"), "endpoints ({path, mode, servers, tools})", func(item *node, ip fpath) {
				var e Endpoint
				ef := func(name string) fpath { return ip.child(name, name) }
				d.object(item, ip, []field{
					{"path", func(v *node) { d.str(v, ef("path"), &e.Path) }},
					{"mode", func(v *node) { d.str(v, ef("mode"), &e.Mode) }},
					{"servers", func(v *node) { d.strList(v, ef("servers"), &e.Servers) }},
					{"tools", func(v *node) { d.strList(v, ef("tools"), &e.Tools) }},
				}, "")
				g.Endpoints = append(g.Endpoints, e)
			})
		}},
		{"api_keys", func(v *node) {
			d.list(v, f("api_keys"), "keys ({name, hash, servers, tools, requests_per_minute})", func(item *node, ip fpath) {
				var k APIKey
				kf := func(name string) fpath { return ip.child(name, name) }
				d.object(item, ip, []field{
					{"name", func(v *node) { d.str(v, kf("name"), &k.Name) }},
					{"hash", func(v *node) { d.str(v, kf("hash"), &k.Hash) }},
					{"servers", func(v *node) { d.strList(v, kf("servers"), &k.Servers) }},
					{"tools", func(v *node) { d.strList(v, kf("tools"), &k.Tools) }},
					{"requests_per_minute", func(v *node) { d.integer(v, kf("requests_per_minute"), &k.RequestsPerMinute) }},
				}, "")
				g.APIKeys = append(g.APIKeys, k)
			})
		}},
		{"allowed_origins", func(v *node) { d.strList(v, f("allowed_origins"), &g.AllowedOrigins) }},
		{"max_concurrent_per_client", func(v *node) { d.integer(v, f("max_concurrent_per_client"), &g.MaxConcurrentPerClient) }},
	}, "")
}

// list decodes a list of mappings, recording each item's origin so that
// problems with missing fields point at the item.
func (d *decoder) list(n *node, p fpath, what string, each func(item *node, ip fpath)) {
	if n.kind != kindSeq {
		d.bad(n, p, "must be a list of "+what)
		return
	}
	for i, item := range n.items {
		ip := p.index(i)
		d.orig.at[ip.key] = origin{File: d.file, Line: item.line, Path: ip.show}
		each(item, ip)
	}
}

// servers decodes the servers mapping; each key is a server name.
func (d *decoder) servers(n *node, p fpath, c *Config) {
	if !d.isMap(n, p) {
		return
	}
	seen := map[string]int{}
	for _, kv := range n.pairs {
		sp := p.child(kv.key, kv.key)
		if first, dup := seen[kv.key]; dup {
			d.problem(kv.line, sp, fmt.Sprintf("duplicate server (first at line %d)", first))
			continue
		}
		seen[kv.key] = kv.line
		s := &Server{Name: kv.key, Origin: fmt.Sprintf("%s:%d", d.file, kv.line)}
		d.orig.at[sp.key] = origin{File: d.file, Line: kv.line, Path: sp.show}
		d.server(kv.val, sp, s)
		c.Servers[kv.key] = s
	}
}

// server decodes one weft.yaml server.
func (d *decoder) server(n *node, p fpath, s *Server) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"transport", func(v *node) {
			var t string
			d.str(v, f("transport"), &t)
			s.Transport = Transport(t)
		}},
		{"command", func(v *node) { d.str(v, f("command"), &s.Command) }},
		{"args", func(v *node) { d.strList(v, f("args"), &s.Args) }},
		{"env", func(v *node) { d.secretMap(v, f("env"), &s.Env) }},
		{"cwd", func(v *node) { d.str(v, f("cwd"), &s.Cwd) }},
		{"inherit_env", func(v *node) { d.strList(v, f("inherit_env"), &s.InheritEnv) }},
		{"url", func(v *node) { d.str(v, f("url"), &s.URL) }},
		{"headers", func(v *node) { d.secretMap(v, f("headers"), &s.Headers) }},
		{"timeout", func(v *node) { d.duration(v, f("timeout"), &s.Timeout) }},
		{"enabled", func(v *node) {
			if b, ok := d.boolean(v, f("enabled")); ok {
				s.Enabled = &b
			}
		}},
		{"max_concurrency", func(v *node) { d.integer(v, f("max_concurrency"), &s.MaxConcurrency) }},
		{"description", func(v *node) { d.str(v, f("description"), &s.Description) }},
		{"tags", func(v *node) { d.strList(v, f("tags"), &s.Tags) }},
		{"cache", func(v *node) { d.serverCache(v, f("cache"), &s.Cache) }},
	}, "")
}
