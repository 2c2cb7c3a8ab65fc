package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestModelsFromFile(t *testing.T) {
	c := mustParse(t, doc(
		"models:",
		"  planner:",
		"    provider: azure-openai",
		"    model: gpt-4o-prod",
		"    endpoint: https://acme.openai.azure.com",
		"    use_entra_id: true",
		"    managed_identity_client_id: 00000000-0000-0000-0000-000000000001",
		"  worker:",
		"    provider: openai-compatible",
		"    model: llama3.2",
		"    endpoint: http://localhost:11434/v1",
		"    timeout: 30s",
		"    max_retries: 1",
		"ask:",
		"  strategy: agent",
		"  max_turns: 4",
	), nil)
	p := c.Models["planner"]
	if p == nil || p.Provider != ProviderAzureOpenAI || p.Model != "gpt-4o-prod" || !p.UseEntraID ||
		p.APIVersion != DefaultModelAPIVersion || p.Timeout.D() != DefaultModelTimeout || p.MaxRetries != DefaultModelMaxRetries {
		t.Fatalf("planner = %+v", p)
	}
	w := c.Models["worker"]
	if w.Name != "worker" || w.Timeout.D() != 30*time.Second || w.MaxRetries != 1 {
		t.Fatalf("worker = %+v", w)
	}
	if c.Ask.Strategy != "agent" || c.Ask.MaxTurns != 4 || c.Ask.RepairRounds != DefaultAskRepairRounds || c.Ask.PlannerModel != "planner" {
		t.Fatalf("ask = %+v", c.Ask)
	}
}

func TestModelsFromReplacedSystemEnv(t *testing.T) {
	c := mustParse(t, nil, map[string]string{
		"PLANNER_PROVIDER":         "azure",
		"PLANNER_MODEL":            "gpt-4o",
		"AZURE_OPENAI_ENDPOINT":    "https://acme.openai.azure.com",
		"AZURE_OPENAI_API_KEY":     "sk-very-secret",
		"AZURE_OPENAI_API_VERSION": "2025-01-01-preview",
		"USE_SMALL_MODEL":          "true",
		"SMALL_MODEL_BACKEND":      "ollama",
		"WORKER_MODEL":             "phi3",
		"OLLAMA_API_URL":           "http://gpu-box:11434",
	})
	p := c.Models["planner"]
	if p.Provider != ProviderAzureOpenAI || p.Model != "gpt-4o" || p.Endpoint != "https://acme.openai.azure.com" ||
		p.APIKey != "sk-very-secret" || p.APIVersion != "2025-01-01-preview" {
		t.Fatalf("planner = %+v", p)
	}
	w := c.Models["worker"]
	if w.Provider != ProviderOpenAICompatible || w.Model != "phi3" || w.Endpoint != "http://gpu-box:11434/v1" {
		t.Fatalf("worker = %+v", w)
	}
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "sk-very-secret") || !strings.Contains(string(out), "api_key: '****'") && !strings.Contains(string(out), `api_key: "****"`) {
		t.Fatalf("config check output does not mask the key:\n%s", out)
	}
	if !strings.Contains(string(out), "deployment") && !strings.Contains(string(out), "model: gpt-4o") {
		t.Fatalf("config check output lacks the model:\n%s", out)
	}
}

func TestModelsOpenAIEnv(t *testing.T) {
	c := mustParse(t, nil, map[string]string{
		"PLANNER_PROVIDER": "openai-compatible", "PLANNER_MODEL": "qwen2.5",
		"OPENAI_BASE_URL": "http://vllm:8000/v1", "OPENAI_API_KEY": "k",
	})
	p := c.Models["planner"]
	if p.Provider != ProviderOpenAICompatible || p.Endpoint != "http://vllm:8000/v1" || p.APIKey != "k" {
		t.Fatalf("planner = %+v", p)
	}
}

func TestModelsMissingCredentialIsPrecise(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		env  map[string]string
		want []string
	}{
		{"azure key from env", nil, map[string]string{"PLANNER_MODEL": "gpt-4o", "AZURE_OPENAI_ENDPOINT": "https://acme.openai.azure.com"},
			[]string{"models.planner.api_key: is required for provider azure-openai without use_entra_id", "AZURE_OPENAI_API_KEY or AZURE_OPENAI_USE_AD=true"}},
		{"openai key in file", doc("models:", "  big:", "    provider: openai", "    model: gpt-4.1"), nil,
			[]string{"weft.yaml:2: models.big.api_key: is required for provider openai"}},
		{"azure endpoint", doc("models:", "  planner:", "    provider: azure-openai", "    model: d", "    api_key: ${K}"), map[string]string{"K": "secret-value"},
			[]string{"models.planner.endpoint: is required for provider azure-openai"}},
		{"compatible endpoint", doc("models:", "  worker:", "    provider: openai-compatible", "    model: m"), nil,
			[]string{"models.worker.endpoint: is required for provider openai-compatible", "OLLAMA_API_URL"}},
		{"provider typo", doc("models:", "  planner:", "    provider: azur", "    model: m"), nil,
			[]string{`weft.yaml:3: models.planner.provider: "azur": not a model provider (allowed: azure-openai, openai, openai-compatible, anthropic)`}},
		{"planner_model", doc("models:", "  big:", "    provider: openai", "    model: m", "    api_key: k", "ask:", "  planner_model: planer"), nil,
			[]string{`ask.planner_model: "planer": names no model in models (configured: big)`}},
		{"entra on openai", doc("models:", "  p:", "    provider: openai", "    model: m", "    api_key: k", "    use_entra_id: true"), nil,
			[]string{"models.p.use_entra_id: Entra ID is for provider azure-openai"}},
		{"bad bool env", nil, map[string]string{"PLANNER_MODEL": "d", "AZURE_OPENAI_ENDPOINT": "https://a.openai.azure.com", "AZURE_OPENAI_USE_AD": "maybe"},
			[]string{`AZURE_OPENAI_USE_AD: "maybe": not a boolean`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := parseErr(t, tc.data, tc.env)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, "secret-value") {
				t.Errorf("error quotes a secret:\n%s", msg)
			}
		})
	}
}

func TestNoModelsByDefault(t *testing.T) {
	c := mustParse(t, nil, nil)
	if len(c.Models) != 0 || c.Ask != defaultAsk() {
		t.Fatalf("models = %v, ask = %+v", c.Models, c.Ask)
	}
}

// TestAskDocsExamples checks that every yaml example in docs/ask.md is a
// valid weft.yaml.
func TestAskDocsExamples(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "docs", "ask.md"))
	if err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"AZURE_OPENAI_API_KEY": "k", "OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"})
	n := 0
	for _, b := range fence.FindAllSubmatch(text, -1) {
		if string(b[1]) != "yaml" {
			continue
		}
		n++
		if _, err := Parse("weft.yaml", b[2], env); err != nil {
			t.Errorf("example:\n%s\n%v", b[2], err)
		}
	}
	if n < 4 {
		t.Fatalf("found %d yaml examples, want at least 4", n)
	}
}
