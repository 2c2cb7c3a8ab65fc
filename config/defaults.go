package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Defaults, as documented in docs/configuration.md.
const (
	DefaultToolTimeout        = 30 * time.Second
	DefaultMaxConcurrentTools = 10
	DefaultRequestsPerMinute  = 60
	DefaultDiscoveryTimeout   = 10 * time.Second
	DefaultStartTimeout       = 2 * time.Minute
	DefaultQueueTimeout       = 10 * time.Second
	DefaultRedisFailMode      = "closed"
	DefaultReadTimeout        = 30 * time.Second
	DefaultCatalogCacheTTL    = 24 * time.Hour
	DefaultAddr               = "127.0.0.1:8080"
	DefaultShutdownTimeout    = 15 * time.Second
	DefaultMaxBodyBytes       = 4 << 20
	DefaultGCPercent          = 400
	DefaultLogLevel           = "info"
	DefaultLogFormat          = "text"
	DefaultAutoMaxTools       = 30
	DefaultAutoMaxTokens      = 4000
	DefaultCodeTimeout        = 30 * time.Second
	DefaultCodeMaxTimeout     = 5 * time.Minute
	DefaultCodeMemoryMB       = 64
	DefaultCodeMaxCalls       = 100
	DefaultCodeMaxMemoryMB    = 256
	DefaultCodeCallsCeiling   = 1000
	DefaultCodeMaxSourceKB    = 256
	DefaultCodeMaxNesting     = 1000
	DefaultPlanConcurrency    = 16
	DefaultPlanRetention      = 30 * 24 * time.Hour
	DefaultPlanMaxRuns        = 10000
	DefaultIdempotencyTTL     = 24 * time.Hour
	DefaultPlanMaxSteps       = 1000
	DefaultPlanMaxDepth       = 8
	DefaultPlanForeachItems   = 10000
	DefaultPlanResultBytes    = 1 << 20
	DefaultPlanRecordBytes    = 8 << 20
	DefaultPlanRunBytes       = 64 << 20
	DefaultPlanConditionCost  = 100_000
	DefaultPlanRunCondCost    = 10_000_000
	DefaultMaxPerClient       = 32
	DefaultDenseWeight        = 0.3
	DefaultEmbedderAPIVersion = "2024-10-21"
	DefaultEmbedderAuth       = "key"
	DefaultEmbedderBatchSize  = 64
	DefaultEmbedderTimeout    = 30 * time.Second
	DefaultEmbeddingCacheTTL  = 7 * 24 * time.Hour
)

// Default returns a configuration with every default filled in and no
// servers.
func Default() *Config {
	return &Config{
		Servers: map[string]*Server{},
		Limits: Limits{
			ToolTimeout:        Duration(DefaultToolTimeout),
			MaxConcurrentTools: DefaultMaxConcurrentTools,
			RequestsPerMinute:  DefaultRequestsPerMinute,
			DiscoveryTimeout:   Duration(DefaultDiscoveryTimeout),
			StartTimeout:       Duration(DefaultStartTimeout),
			QueueTimeout:       Duration(DefaultQueueTimeout),
			RedisFailMode:      DefaultRedisFailMode,
		},
		Catalog:   Catalog{CacheTTL: Duration(DefaultCatalogCacheTTL)},
		Cache:     defaultCache(),
		Analytics: defaultAnalytics(),
		Server: HTTP{
			Addr:            DefaultAddr,
			ShutdownTimeout: Duration(DefaultShutdownTimeout),
			MaxBodyBytes:    DefaultMaxBodyBytes,
			ReadTimeout:     Duration(DefaultReadTimeout),
			GCPercent:       DefaultGCPercent,
		},
		Log: Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
		Search: Search{AutoMaxTools: DefaultAutoMaxTools, AutoMaxTokens: DefaultAutoMaxTokens,
			DenseWeight: DefaultDenseWeight, CacheTTL: Duration(DefaultSearchCacheTTL),
			Embedder: Embedder{APIVersion: DefaultEmbedderAPIVersion, Auth: DefaultEmbedderAuth,
				BatchSize: DefaultEmbedderBatchSize, Timeout: Duration(DefaultEmbedderTimeout),
				CacheTTL: Duration(DefaultEmbeddingCacheTTL)}},
		Code: Code{Timeout: Duration(DefaultCodeTimeout), MaxTimeout: Duration(DefaultCodeMaxTimeout),
			MemoryMB: DefaultCodeMemoryMB, MaxCalls: DefaultCodeMaxCalls, MaxMemoryMB: DefaultCodeMaxMemoryMB,
			MaxCallsCeiling: DefaultCodeCallsCeiling, MaxSourceKB: DefaultCodeMaxSourceKB, MaxNesting: DefaultCodeMaxNesting},
		Plans: Plans{MaxConcurrency: DefaultPlanConcurrency, Retention: Duration(DefaultPlanRetention),
			MaxRuns: DefaultPlanMaxRuns, IdempotencyTTL: Duration(DefaultIdempotencyTTL),
			MaxSteps: DefaultPlanMaxSteps, MaxDepth: DefaultPlanMaxDepth, MaxForeachItems: DefaultPlanForeachItems,
			MaxResultBytes: DefaultPlanResultBytes, MaxRecordBytes: DefaultPlanRecordBytes, MaxRunBytes: DefaultPlanRunBytes,
			MaxConditionCost: DefaultPlanConditionCost, MaxRunConditionCost: DefaultPlanRunCondCost},
		Ask: defaultAsk(),
		Gateway: Gateway{MaxConcurrentPerClient: DefaultMaxPerClient,
			Endpoints: []Endpoint{{Path: "/mcp", Mode: "meta"}}},
		Telemetry: defaultTelemetry(),
		Runs:      defaultRuns(),
	}
}

// DefaultCacheDir is os.UserCacheDir()/weft, or a "weft-cache" directory
// under the temporary directory when the system has no user cache dir.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "weft-cache")
	}
	return filepath.Join(dir, "weft")
}

// EnabledServers returns the enabled servers sorted by name.
func (c *Config) EnabledServers() []*Server {
	out := make([]*Server, 0, len(c.Servers))
	for _, s := range c.Servers {
		if s.IsEnabled() {
			out = append(out, s)
		}
	}
	sortServers(out)
	return out
}

func sortServers(s []*Server) {
	slices.SortFunc(s, func(a, b *Server) int { return strings.Compare(a.Name, b.Name) })
}
