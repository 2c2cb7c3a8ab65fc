package config

import "testing"

func TestAnthropicModelFromEnv(t *testing.T) {
	c := mustParse(t, nil, map[string]string{
		"PLANNER_PROVIDER":  "anthropic",
		"PLANNER_MODEL":     "claude-sonnet-4-5",
		"ANTHROPIC_API_KEY": "sk-ant-1",
	})
	m := c.Models["planner"]
	if m == nil || m.Provider != ProviderAnthropic || m.Model != "claude-sonnet-4-5" || m.APIKey != "sk-ant-1" {
		t.Fatalf("planner = %+v", m)
	}
	if m := c.Redacted().Models["planner"]; m.APIKey != Mask {
		t.Errorf("weft config check shows the Anthropic key: %q", m.APIKey)
	}
}

func TestAnthropicModelProblems(t *testing.T) {
	got := parseErr(t, nil, map[string]string{"PLANNER_PROVIDER": "anthropic", "PLANNER_MODEL": "claude-sonnet-4-5"})
	want := "models.planner.api_key: is required for provider anthropic; env ANTHROPIC_API_KEY"
	if got != want {
		t.Errorf("error:\n%s\nwant:\n%s", got, want)
	}
	got = parseErr(t, doc(
		"models:",
		"  planner:",
		"    provider: anthropic",
		"    model: claude-haiku-4-5",
		"    api_key: k",
		"    use_entra_id: true",
	), nil)
	want = "weft.yaml:6: models.planner.use_entra_id: Entra ID is for provider azure-openai"
	if got != want {
		t.Errorf("error:\n%s\nwant:\n%s", got, want)
	}
}
