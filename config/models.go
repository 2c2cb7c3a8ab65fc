package config

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Model providers.
const (
	ProviderAzureOpenAI      = "azure-openai"
	ProviderOpenAI           = "openai"
	ProviderOpenAICompatible = "openai-compatible"
	ProviderAnthropic        = "anthropic"
)

// Model is one named language model of `weft ask` (models.<name>).
type Model struct {
	// Name is the map key (set by the loader): planner, worker, ...
	Name string `yaml:"-" json:"name"`
	// Provider is azure-openai, openai, openai-compatible (Ollama, vLLM,
	// llama.cpp server, LiteLLM, Gemini's OpenAI endpoint) or anthropic.
	Provider string `yaml:"provider" json:"provider"`
	// Model is the model name; for azure-openai, the deployment name.
	Model string `yaml:"model" json:"model"`
	// Endpoint is, for azure-openai, the resource endpoint
	// (https://NAME.openai.azure.com); for openai and openai-compatible,
	// the API base URL (default for openai: https://api.openai.com/v1).
	Endpoint string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	// APIVersion is Azure OpenAI's api-version. Default 2024-10-21.
	APIVersion string `yaml:"api_version,omitempty" json:"api_version,omitempty"`
	// APIKey authenticates: the api-key header for Azure, a bearer token
	// otherwise. A secret.
	APIKey string `yaml:"api_key,omitempty" json:"api_key,omitempty"`
	// UseEntraID authenticates to Azure OpenAI with Entra ID
	// (DefaultAzureCredential: environment, workload identity, managed
	// identity, Azure CLI) instead of an API key.
	UseEntraID bool `yaml:"use_entra_id,omitempty" json:"use_entra_id,omitempty"`
	// ManagedIdentityClientID selects a user-assigned managed identity.
	ManagedIdentityClientID string `yaml:"managed_identity_client_id,omitempty" json:"managed_identity_client_id,omitempty"`
	// Timeout bounds each attempt of a model call. Default 120s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// MaxRetries is how often a call is retried on 408, 409, 429 (after
	// the server's Retry-After), 5xx and connection errors. Default 3.
	MaxRetries int `yaml:"max_retries" json:"max_retries"`
}

// Ask holds the settings of `weft ask`: strategies and per-request budgets.
type Ask struct {
	// Strategy is the default strategy: plan or agent. Default plan.
	Strategy string `yaml:"strategy" json:"strategy"`
	// PlannerModel names the model (in models) that plans, runs the agent
	// loop and writes answers. Default planner.
	PlannerModel string `yaml:"planner_model" json:"planner_model"`
	// CandidateTools is how many tools search picks for the plan strategy;
	// when the caller sees at most this many, all of them are candidates. Default 20.
	CandidateTools int `yaml:"candidate_tools" json:"candidate_tools"`
	// RepairRounds is how often the plan strategy gives an invalid plan's
	// problems back to the model for repair. Default 2.
	RepairRounds int `yaml:"repair_rounds" json:"repair_rounds"`
	// MaxTurns bounds model calls per request. Default 16.
	MaxTurns int `yaml:"max_turns" json:"max_turns"`
	// MaxTokens bounds the tokens (prompt + completion) of all model calls
	// of a request. Default 200000.
	MaxTokens int `yaml:"max_tokens" json:"max_tokens"`
	// MaxToolCalls bounds the meta-tool calls of the agent strategy per
	// request. Default 50.
	MaxToolCalls int `yaml:"max_tool_calls" json:"max_tool_calls"`
	// Deadline bounds a whole request. Default 5m.
	Deadline Duration `yaml:"deadline" json:"deadline"`
}

// Defaults of models and ask.
const (
	DefaultModelAPIVersion    = "2024-10-21"
	DefaultModelTimeout       = 120 * time.Second
	DefaultModelMaxRetries    = 3
	DefaultAskStrategy        = "plan"
	DefaultAskPlannerModel    = "planner"
	DefaultAskCandidateTools  = 20
	DefaultAskRepairRounds    = 2
	DefaultAskMaxTurns        = 16
	DefaultAskMaxTokens       = 200_000
	DefaultAskMaxToolCalls    = 50
	DefaultAskDeadline        = 5 * time.Minute
	DefaultOpenAIBaseURL      = "https://api.openai.com/v1"
	DefaultOllamaURL          = "http://localhost:11434/v1"
	defaultSmallModelName     = "worker"
	defaultPlannerModelName   = "planner"
	modelEnvProviderHintAllow = "azure-openai (or azure), openai, openai-compatible, anthropic"
)

// defaultAsk is the Ask section's defaults.
func defaultAsk() Ask {
	return Ask{Strategy: DefaultAskStrategy, PlannerModel: DefaultAskPlannerModel,
		CandidateTools: DefaultAskCandidateTools, RepairRounds: DefaultAskRepairRounds,
		MaxTurns: DefaultAskMaxTurns, MaxTokens: DefaultAskMaxTokens, MaxToolCalls: DefaultAskMaxToolCalls,
		Deadline: Duration(DefaultAskDeadline)}
}

// newModel is a model with its defaults.
func newModel(name string) *Model {
	return &Model{Name: name, APIVersion: DefaultModelAPIVersion, Timeout: Duration(DefaultModelTimeout), MaxRetries: DefaultModelMaxRetries}
}

// models decodes the models mapping; each key is a model name.
func (d *decoder) models(n *node, p fpath, c *Config) {
	if !d.isMap(n, p) {
		return
	}
	seen := map[string]int{}
	for _, kv := range n.pairs {
		mp := p.child(kv.key, kv.key)
		if first, dup := seen[kv.key]; dup {
			d.problem(kv.line, mp, fmt.Sprintf("duplicate model (first at line %d)", first))
			continue
		}
		seen[kv.key] = kv.line
		m := newModel(kv.key)
		d.orig.at[mp.key] = origin{File: d.file, Line: kv.line, Path: mp.show}
		f := func(name string) fpath { return mp.child(name, name) }
		d.object(kv.val, mp, []field{
			{"provider", func(v *node) { d.str(v, f("provider"), &m.Provider) }},
			{"model", func(v *node) { d.str(v, f("model"), &m.Model) }},
			{"endpoint", func(v *node) { d.str(v, f("endpoint"), &m.Endpoint) }},
			{"api_version", func(v *node) { d.str(v, f("api_version"), &m.APIVersion) }},
			{"api_key", func(v *node) {
				if s, ok := d.scalar(v, f("api_key"), "a string", true); ok {
					m.APIKey = s
				}
			}},
			{"use_entra_id", func(v *node) {
				if b, ok := d.boolean(v, f("use_entra_id")); ok {
					m.UseEntraID = b
				}
			}},
			{"managed_identity_client_id", func(v *node) { d.str(v, f("managed_identity_client_id"), &m.ManagedIdentityClientID) }},
			{"timeout", func(v *node) { d.duration(v, f("timeout"), &m.Timeout) }},
			{"max_retries", func(v *node) { d.integer(v, f("max_retries"), &m.MaxRetries) }},
		}, "")
		if c.Models == nil {
			c.Models = map[string]*Model{}
		}
		c.Models[kv.key] = m
	}
}

// ask decodes the ask section.
func (d *decoder) ask(n *node, p fpath, a *Ask) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"strategy", func(v *node) { d.str(v, f("strategy"), &a.Strategy) }},
		{"planner_model", func(v *node) { d.str(v, f("planner_model"), &a.PlannerModel) }},
		{"candidate_tools", func(v *node) { d.integer(v, f("candidate_tools"), &a.CandidateTools) }},
		{"repair_rounds", func(v *node) { d.integer(v, f("repair_rounds"), &a.RepairRounds) }},
		{"max_turns", func(v *node) { d.integer(v, f("max_turns"), &a.MaxTurns) }},
		{"max_tokens", func(v *node) { d.integer(v, f("max_tokens"), &a.MaxTokens) }},
		{"max_tool_calls", func(v *node) { d.integer(v, f("max_tool_calls"), &a.MaxToolCalls) }},
		{"deadline", func(v *node) { d.duration(v, f("deadline"), &a.Deadline) }},
	}, "")
}

// modelEnvNames are the environment variables of the system weft replaces
// that configure models.planner and models.worker, in the order they apply.
var modelEnvNames = []string{
	"PLANNER_PROVIDER", "PLANNER_MODEL",
	"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_USE_AD", "AZURE_OPENAI_API_VERSION",
	"OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY",
	"USE_SMALL_MODEL", "SMALL_MODEL_BACKEND", "WORKER_MODEL", "OLLAMA_API_URL",
	"AZURE_SMALL_MODEL_ENDPOINT", "AZURE_SMALL_MODEL_KEY", "AZURE_SMALL_MODEL_USE_AD",
}

// modelEnv applies one model's environment variables.
type modelEnv struct {
	c     *Config
	env   func(string) (string, bool)
	orig  *origins
	probs *problems
}

func (e modelEnv) get(name string) (string, bool) {
	v, ok := e.env(name)
	return v, ok && v != ""
}

// model returns models.<name>, creating it with its defaults.
func (e modelEnv) model(name string) *Model {
	if e.c.Models == nil {
		e.c.Models = map[string]*Model{}
	}
	m := e.c.Models[name]
	if m == nil {
		m = newModel(name)
		e.c.Models[name] = m
	}
	return m
}

// set records that variable name set key (never quoting a secret).
func (e modelEnv) set(name, key, raw string, secret bool) {
	o := origin{Path: name, Secret: secret}
	if !secret {
		o.Raw = raw
	}
	e.orig.at[key] = o
	delete(e.orig.broken, key)
}

// str applies a string variable to a field of models.<model>.
func (e modelEnv) str(name, model, field string, dst *string, secret bool) {
	if v, ok := e.get(name); ok {
		*dst = v
		e.set(name, "models."+model+"."+field, v, secret)
	}
}

// boolean applies a boolean variable ("true", "1", "yes").
func (e modelEnv) boolean(name, model, field string, dst *bool) {
	v, ok := e.get(name)
	if !ok {
		return
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "yes", "on":
			b, err = true, nil
		case "no", "off":
			b, err = false, nil
		}
	}
	if err != nil {
		e.probs.add(Problem{Path: name, Msg: quote(v) + ": not a boolean (allowed: true, false)"})
		return
	}
	*dst = b
	e.set(name, "models."+model+"."+field, v, false)
}

// provider normalises a provider name of the replaced system's variables.
func envProvider(v string) string {
	switch p := strings.ToLower(strings.TrimSpace(v)); p {
	case "azure", "azure_openai", "azureopenai":
		return ProviderAzureOpenAI
	case "ollama", "openai_compatible", "compatible", "local":
		return ProviderOpenAICompatible
	default:
		return p
	}
}

// applyModelEnv applies the model variables (modelEnvNames): the planner's
// PLANNER_*, AZURE_OPENAI_* (azure-openai) or OPENAI_* (openai,
// openai-compatible); the small worker model's USE_SMALL_MODEL and
// SMALL_MODEL_BACKEND with WORKER_MODEL, OLLAMA_API_URL,
// AZURE_SMALL_MODEL_*.
func applyModelEnv(c *Config, env func(string) (string, bool), orig *origins, probs *problems) {
	e := modelEnv{c: c, env: env, orig: orig, probs: probs}
	_, hasProvider := e.get("PLANNER_PROVIDER")
	_, hasModel := e.get("PLANNER_MODEL")
	_, hasAzure := e.get("AZURE_OPENAI_ENDPOINT")
	if hasProvider || hasModel || hasAzure || c.Models[defaultPlannerModelName] != nil {
		m := e.model(defaultPlannerModelName)
		if v, ok := e.get("PLANNER_PROVIDER"); ok {
			m.Provider = envProvider(v)
			e.set("PLANNER_PROVIDER", "models.planner.provider", v, false)
		}
		if m.Provider == "" {
			// The replaced system's one required dependency was Azure OpenAI.
			m.Provider = ProviderAzureOpenAI
		}
		e.str("PLANNER_MODEL", "planner", "model", &m.Model, false)
		switch m.Provider {
		case ProviderAzureOpenAI:
			e.str("AZURE_OPENAI_ENDPOINT", "planner", "endpoint", &m.Endpoint, false)
			e.str("AZURE_OPENAI_API_KEY", "planner", "api_key", &m.APIKey, true)
			e.boolean("AZURE_OPENAI_USE_AD", "planner", "use_entra_id", &m.UseEntraID)
			e.str("AZURE_OPENAI_API_VERSION", "planner", "api_version", &m.APIVersion, false)
		case ProviderOpenAI, ProviderOpenAICompatible:
			e.str("OPENAI_API_KEY", "planner", "api_key", &m.APIKey, true)
			e.str("OPENAI_BASE_URL", "planner", "endpoint", &m.Endpoint, false)
		case ProviderAnthropic:
			e.str("ANTHROPIC_API_KEY", "planner", "api_key", &m.APIKey, true)
		}
	}
	use := false
	if v, ok := e.get("USE_SMALL_MODEL"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			probs.add(Problem{Path: "USE_SMALL_MODEL", Msg: quote(v) + ": not a boolean (allowed: true, false)"})
		}
		use = b
	}
	if !use {
		return
	}
	m := e.model(defaultSmallModelName)
	backend := "ollama"
	if v, ok := e.get("SMALL_MODEL_BACKEND"); ok {
		backend = strings.ToLower(strings.TrimSpace(v))
	}
	e.str("WORKER_MODEL", "worker", "model", &m.Model, false)
	switch backend {
	case "ollama":
		m.Provider = ProviderOpenAICompatible
		if m.Endpoint == "" {
			m.Endpoint = DefaultOllamaURL
		}
		if v, ok := e.get("OLLAMA_API_URL"); ok {
			m.Endpoint = ollamaBaseURL(v)
			e.set("OLLAMA_API_URL", "models.worker.endpoint", v, false)
		}
	case "azure", ProviderAzureOpenAI:
		m.Provider = ProviderAzureOpenAI
		e.str("AZURE_SMALL_MODEL_ENDPOINT", "worker", "endpoint", &m.Endpoint, false)
		e.str("AZURE_SMALL_MODEL_KEY", "worker", "api_key", &m.APIKey, true)
		e.boolean("AZURE_SMALL_MODEL_USE_AD", "worker", "use_entra_id", &m.UseEntraID)
	case ProviderOpenAICompatible:
		m.Provider = ProviderOpenAICompatible
		e.str("OPENAI_BASE_URL", "worker", "endpoint", &m.Endpoint, false)
	default:
		probs.add(Problem{Path: "SMALL_MODEL_BACKEND", Msg: quote(backend) + ": not a small-model backend (allowed: ollama, azure, openai-compatible)"})
	}
	e.set("SMALL_MODEL_BACKEND", "models.worker.provider", backend, false)
}

// ollamaBaseURL turns OLLAMA_API_URL (http://host:11434, as the replaced
// system took it) into the OpenAI-compatible base URL (.../v1).
func ollamaBaseURL(v string) string {
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	if u, err := url.Parse(v); err == nil && (u.Path == "" || u.Path == "/") {
		return v + "/v1"
	}
	return v
}

var modelName = namePattern // ^[a-zA-Z0-9_-]{1,64}$

// models checks models and ask.
func (v *validator) models(c *Config) {
	names := make([]string, 0, len(c.Models))
	for name := range c.Models {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v.model(name, c.Models[name])
	}
	a := c.Ask
	v.oneOf("ask.strategy", a.Strategy, "an ask strategy", "plan", "agent")
	if a.PlannerModel == "" {
		v.at("ask.planner_model", "must not be empty (the name of a model in models, e.g. planner)")
	} else if len(c.Models) > 0 && c.Models[a.PlannerModel] == nil && !v.broken("ask.planner_model") {
		v.value("ask.planner_model", a.PlannerModel, "names no model in models (configured: "+strings.Join(names, ", ")+")")
	}
	v.positiveInt("ask.candidate_tools", int64(a.CandidateTools))
	if a.RepairRounds < 0 && !v.broken("ask.repair_rounds") {
		v.value("ask.repair_rounds", strconv.Itoa(a.RepairRounds), "must not be negative (0: an invalid plan is not repaired)")
	}
	v.positiveInt("ask.max_turns", int64(a.MaxTurns))
	v.positiveInt("ask.max_tokens", int64(a.MaxTokens))
	v.positiveInt("ask.max_tool_calls", int64(a.MaxToolCalls))
	v.positiveDuration("ask.deadline", a.Deadline)
}

func (v *validator) model(name string, m *Model) {
	key := "models." + segment(name)
	if !modelName.MatchString(name) {
		v.at(key, "not a valid model name (allowed: 1 to 64 letters, digits, _ and -)")
	}
	if m == nil {
		return
	}
	if m.Provider == "" {
		v.at(key+".provider", "is required ("+modelEnvProviderHintAllow+")")
		return
	}
	if !slices.Contains([]string{ProviderAzureOpenAI, ProviderOpenAI, ProviderOpenAICompatible, ProviderAnthropic}, m.Provider) {
		if !v.broken(key + ".provider") {
			v.value(key+".provider", m.Provider, "not a model provider (allowed: azure-openai, openai, openai-compatible, anthropic)")
		}
		return
	}
	if m.Model == "" && !v.broken(key+".model") {
		what := "the model name, e.g. gpt-4.1"
		if m.Provider == ProviderAzureOpenAI {
			what = "the Azure deployment name"
		}
		v.at(key+".model", "is required ("+what+envHint(name, "PLANNER_MODEL", "WORKER_MODEL")+")")
	}
	if m.Endpoint != "" && !v.broken(key+".endpoint") {
		u, err := url.Parse(m.Endpoint)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			v.value(key+".endpoint", m.Endpoint, "not an http(s) URL (e.g. https://NAME.openai.azure.com, http://localhost:11434/v1)")
		case m.Provider == ProviderAzureOpenAI && u.Scheme != "https":
			v.value(key+".endpoint", m.Endpoint, "Azure OpenAI needs an https URL (e.g. https://NAME.openai.azure.com)")
		}
	}
	switch m.Provider {
	case ProviderAzureOpenAI:
		if m.Endpoint == "" && !v.broken(key+".endpoint") {
			v.at(key+".endpoint", "is required for provider azure-openai (https://NAME.openai.azure.com"+envHint(name, "AZURE_OPENAI_ENDPOINT", "AZURE_SMALL_MODEL_ENDPOINT")+")")
		}
		if m.APIVersion == "" && !v.broken(key+".api_version") {
			v.at(key+".api_version", "must not be empty for provider azure-openai (e.g. 2024-10-21)")
		}
		if !m.UseEntraID && m.APIKey == "" && !v.broken(key+".api_key") {
			v.at(key+".api_key", "is required for provider azure-openai without use_entra_id (set api_key, or use_entra_id: true for Entra ID"+
				envHint(name, "AZURE_OPENAI_API_KEY or AZURE_OPENAI_USE_AD=true", "AZURE_SMALL_MODEL_KEY or AZURE_SMALL_MODEL_USE_AD=true")+")")
		}
	case ProviderAnthropic:
		if m.APIKey == "" && !v.broken(key+".api_key") {
			v.at(key+".api_key", "is required for provider anthropic"+envHint(name, "ANTHROPIC_API_KEY", ""))
		}
		if m.UseEntraID {
			v.at(key+".use_entra_id", "Entra ID is for provider azure-openai")
		}
	case ProviderOpenAI:
		if m.APIKey == "" && !v.broken(key+".api_key") {
			v.at(key+".api_key", "is required for provider openai"+envHint(name, "OPENAI_API_KEY", ""))
		}
		fallthrough
	default:
		if m.Provider == ProviderOpenAICompatible && m.Endpoint == "" && !v.broken(key+".endpoint") {
			v.at(key+".endpoint", "is required for provider openai-compatible (the base URL, e.g. http://localhost:11434/v1"+envHint(name, "OPENAI_BASE_URL", "OLLAMA_API_URL")+")")
		}
		if m.UseEntraID {
			v.at(key+".use_entra_id", "Entra ID is for provider azure-openai")
		}
	}
	if m.ManagedIdentityClientID != "" && !m.UseEntraID {
		v.at(key+".managed_identity_client_id", "needs use_entra_id: true")
	}
	v.positiveDuration(key+".timeout", m.Timeout)
	if m.MaxRetries < 0 && !v.broken(key+".max_retries") {
		v.value(key+".max_retries", strconv.Itoa(m.MaxRetries), "must not be negative (0: no retries)")
	}
}

// envHint names the variable that sets a field of the planner or worker.
func envHint(model, planner, worker string) string {
	switch {
	case model == defaultPlannerModelName && planner != "":
		return "; env " + planner
	case model == defaultSmallModelName && worker != "":
		return "; env " + worker
	}
	return ""
}
