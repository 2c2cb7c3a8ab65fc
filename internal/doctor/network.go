package doctor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/redis/go-redis/v9"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/azcred"
)

// checkCredentials checks each model's and the embedder's credential: an
// API key is present, or an Entra ID token for Azure OpenAI is acquired
// through the credential weft would use (a user-assigned managed identity
// when managed_identity_client_id is set, else DefaultAzureCredential).
func checkCredentials(ctx context.Context, cfg *config.Config, timeout time.Duration) []Finding {
	var fs []Finding
	names := make([]string, 0, len(cfg.Models))
	for n := range cfg.Models {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		m := cfg.Models[n]
		key := "models." + n
		switch {
		case m.UseEntraID:
			fs = append(fs, entraToken(ctx, key, m.ManagedIdentityClientID, timeout))
		case m.APIKey != "":
			fs = append(fs, Finding{Check: "credentials " + key, Status: OK, Reason: m.Provider + ": api_key is set"})
		case m.Provider == config.ProviderOpenAICompatible:
			fs = append(fs, Finding{Check: "credentials " + key, Status: OK, Reason: "openai-compatible without api_key (none sent)"})
		default:
			// Validation requires it; kept for a configuration built in code.
			fs = append(fs, Finding{Check: "credentials " + key, Status: Fail, Reason: m.Provider + ": no api_key",
				Fix: "set " + key + ".api_key (AZURE_OPENAI_API_KEY / OPENAI_API_KEY for the planner), or use_entra_id: true for Azure OpenAI"})
		}
	}
	if e := cfg.Search.Embedder; e.Enabled() {
		switch {
		case e.AzureDeployment != "" && e.Auth == "entra":
			fs = append(fs, entraToken(ctx, "search.embedder", "", timeout))
		case e.APIKey != "":
			fs = append(fs, Finding{Check: "credentials search.embedder", Status: OK, Reason: "api_key is set"})
		default:
			fs = append(fs, Finding{Check: "credentials search.embedder", Status: OK, Reason: "no api_key (none sent; fine for a local embedder)"})
		}
	}
	if len(fs) == 0 {
		fs = append(fs, Finding{Check: "credentials", Status: OK, Reason: "no model and no embedder configured: nothing to authenticate (weft ask is unavailable)"})
	}
	return fs
}

// entraToken acquires a token for Azure OpenAI's scope.
func entraToken(ctx context.Context, key, clientID string, timeout time.Duration) Finding {
	f := Finding{Check: "credentials " + key}
	begin := time.Now()
	var cred azcore.TokenCredential
	var err error
	which := "DefaultAzureCredential"
	if clientID != "" {
		which = "managed identity " + clientID
		cred, err = azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(clientID)})
	} else {
		cred, err = azidentity.NewDefaultAzureCredential(nil)
	}
	fix := "grant the identity the \"Cognitive Services OpenAI User\" role on the Azure OpenAI resource; on Kubernetes check the workload identity (service account annotation azure.workload.identity/client-id, pod label azure.workload.identity/use: \"true\"); on Container Apps / App Service check the assigned identity"
	if err != nil {
		f.Status, f.Reason, f.Fix = Fail, fmt.Sprintf("Entra ID (%s): %v", which, err), fix
		return f
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{azcred.Scope}})
	f.Took = time.Since(begin)
	if err != nil {
		f.Status, f.Reason, f.Fix = Fail, fmt.Sprintf("Entra ID (%s): no token for %s: %s", which, azcred.Scope, firstLine(err.Error())), fix
		return f
	}
	f.Status, f.Reason = OK, fmt.Sprintf("Entra ID (%s): token acquired in %s, expires %s", which, f.Took.Round(time.Millisecond), tok.ExpiresOn.UTC().Format(time.RFC3339))
	return f
}

// firstLine keeps the first non-empty line of a multi-line SDK error.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "---") {
			return l
		}
	}
	return s
}

// checkServices checks the shared services weft is configured to use and
// says what happens while each is unreachable: Redis for rate limits
// (limits.redis_url, limits.redis_fail_mode) and the cache
// (cache.redis_url, cache.fallback), PostgreSQL for run records
// (runs.store), the OTLP receivers of analytics and tracing.
func checkServices(ctx context.Context, cfg *config.Config, timeout time.Duration) []Finding {
	var fs []Finding
	if u := cfg.Limits.RedisURL; u != "" {
		fallback := "requests are refused (503) while it is unreachable (limits.redis_fail_mode: closed)"
		if cfg.Limits.RedisFailMode == "open" {
			fallback = "requests are allowed without a rate limit while it is unreachable (limits.redis_fail_mode: open)"
		}
		fs = append(fs, pingRedis(ctx, "redis limits.redis_url", u, "", fallback, timeout))
	}
	if u := cfg.Cache.RedisURL; u != "" {
		fallback := "the cache serves from memory alone while it is unreachable (cache.fallback: true)"
		if !cfg.Cache.Fallback {
			fallback = "requests that need the cache fail while it is unreachable (cache.fallback: false)"
		}
		fs = append(fs, pingRedis(ctx, "redis cache.redis_url", u, cfg.Cache.RedisPassword, fallback, timeout))
	}
	if cfg.Runs.IsPostgres() {
		fs = append(fs, dial(ctx, "postgres runs.store", cfg.Runs.Store, "5432", "PostgreSQL", "run records cannot be stored or read while it is unreachable", timeout))
	}
	if slices.Contains(cfg.Analytics.Backends, "otlp") && cfg.Analytics.OTLP.Endpoint != "" {
		fs = append(fs, dial(ctx, "otlp analytics.otlp.endpoint", cfg.Analytics.OTLP.Endpoint, "4318", "the OTLP receiver", "metrics pushes fail (and are retried) while it is unreachable; /metrics is unaffected", timeout))
	}
	if cfg.Telemetry.Tracing.Enabled && cfg.Telemetry.Tracing.Endpoint != "" {
		fs = append(fs, dial(ctx, "otlp telemetry.tracing.endpoint", cfg.Telemetry.Tracing.Endpoint, "4318", "the OTLP receiver", "spans are dropped while it is unreachable; requests are unaffected", timeout))
	}
	if len(fs) == 0 {
		fs = append(fs, Finding{Check: "services", Status: OK, Reason: "no shared service configured: cache and rate limits in memory, run records in SQLite, per process (set cache.redis_url, limits.redis_url and runs.store to share them across replicas)"})
	}
	return fs
}

// dial opens a TCP connection to the host of rawURL (defaultPort when it
// names none): reachability only, not credentials.
func dial(ctx context.Context, check, rawURL, defaultPort, what, fallback string, timeout time.Duration) Finding {
	f := Finding{Check: check}
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		f.Status, f.Reason, f.Fix = Fail, "not a URL with a host", "correct the URL"
		return f
	}
	port := u.Port()
	if port == "" {
		port = defaultPort
		if u.Scheme == "https" {
			port = "443"
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	begin := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	f.Took = time.Since(begin)
	if err != nil {
		f.Status = Fail
		f.Reason = fmt.Sprintf("%s at %s is unreachable: %v; %s", what, addr, err, fallback)
		f.Fix = "start it or correct the URL; check network policies between weft and " + addr
		return f
	}
	conn.Close()
	f.Status, f.Reason = OK, fmt.Sprintf("%s at %s accepts connections (%s; credentials are checked on first use)", what, addr, f.Took.Round(time.Millisecond))
	return f
}

// pingRedis sends PING to the Redis server at rawURL.
func pingRedis(ctx context.Context, check, rawURL, password, fallback string, timeout time.Duration) Finding {
	f := Finding{Check: check}
	begin := time.Now()
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		f.Status, f.Reason, f.Fix = Fail, "not a Redis URL: "+err.Error(), "use redis://[:password@]host:port/db (rediss:// for TLS)"
		return f
	}
	if opts.Password == "" {
		opts.Password = password
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.MaxRetries, opts.DialerRetries = timeout, timeout, timeout, -1, 1
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = c.Ping(ctx).Err()
	f.Took = time.Since(begin)
	if err != nil {
		f.Status = Fail
		f.Reason = fmt.Sprintf("Redis at %s is unreachable: %v; %s", opts.Addr, err, fallback)
		f.Fix = "start Redis or correct the URL (host, port, password, db); check network policies between weft and " + opts.Addr
		return f
	}
	f.Status, f.Reason = OK, fmt.Sprintf("Redis at %s answered PING in %s", opts.Addr, f.Took.Round(time.Millisecond))
	return f
}

// Clock skew bounds: Entra ID tokens and TLS tolerate about 5 minutes.
const (
	skewWarn = 30 * time.Second
	skewFail = 5 * time.Minute
)

// checkClock compares the wall clock with the Date header of the first
// configured HTTP endpoint that answers (models, the embedder, HTTP
// upstreams, in that order), allowing for the round trip.
func checkClock(ctx context.Context, cfg *config.Config, timeout time.Duration, now func() time.Time) []Finding {
	var urls []string
	names := make([]string, 0, len(cfg.Models))
	for n := range cfg.Models {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if e := cfg.Models[n].Endpoint; e != "" {
			urls = append(urls, e)
		}
	}
	if cfg.Search.Embedder.URL != "" {
		urls = append(urls, cfg.Search.Embedder.URL)
	}
	servers := make([]string, 0, len(cfg.Servers))
	for n, s := range cfg.Servers {
		if s.IsEnabled() && s.URL != "" {
			servers = append(servers, n)
		}
	}
	slices.Sort(servers)
	for _, n := range servers {
		urls = append(urls, cfg.Servers[n].URL)
	}
	client := &http.Client{Timeout: timeout}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, raw, nil)
		if err != nil {
			continue
		}
		sent := now()
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		resp.Body.Close()
		got := now()
		date, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil {
			continue
		}
		// The server stamped Date somewhere within the round trip; Date
		// has one-second resolution (truncated), so it stands for the
		// middle of its second.
		date = date.Add(500 * time.Millisecond)
		mid := sent.Add(got.Sub(sent) / 2)
		skew := mid.Sub(date)
		if skew.Abs() < time.Second+got.Sub(sent)/2 {
			skew = 0
		}
		f := Finding{Check: "clock", Took: got.Sub(sent)}
		host := u.Scheme + "://" + u.Host
		switch d := skew.Abs(); {
		case d > skewFail:
			f.Status = Fail
		case d > skewWarn:
			f.Status = Warn
		default:
			f.Status = OK
		}
		dir := "ahead of"
		if skew < 0 {
			dir = "behind"
		}
		f.Reason = fmt.Sprintf("the wall clock is %s %s %s's Date header", skew.Abs().Round(time.Second), dir, host)
		if skew == 0 {
			f.Reason = "the wall clock agrees with " + host + "'s Date header (within a second and the round trip)"
		}
		if f.Status != OK {
			f.Fix = "synchronise the clock (NTP / chrony on the host; containers share the host's clock): Entra ID tokens and TLS certificates fail beyond about 5 minutes of skew"
		}
		return []Finding{f}
	}
	reason := "no configured HTTP endpoint answered with a Date header: the wall clock was not compared"
	if len(urls) == 0 {
		reason = "no HTTP endpoint configured (models, embedder, http upstreams): the wall clock was not compared"
	}
	return []Finding{{Check: "clock", Status: OK, Reason: reason}}
}
