package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weft-dev/weft/config"
)

// bicepTokens strips comments and strings from a Bicep file, failing on
// an unterminated string, so that brackets can be matched.
func bicepTokens(t *testing.T, src string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(src); i++ {
		switch {
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
			b.WriteByte('\n')
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				t.Fatal("main.bicep: unterminated /* comment")
			}
			i += end + 3
		case src[i] == '\'':
			// A string: '' and \' escape; ${...} interpolations nest.
			depth := 0
			for i++; ; i++ {
				if i >= len(src) || (src[i] == '\n' && depth == 0) {
					t.Fatalf("main.bicep: unterminated string at byte %d", i)
				}
				if src[i] == '\\' {
					i++
					continue
				}
				if strings.HasPrefix(src[i:], "${") {
					depth++
				} else if src[i] == '}' && depth > 0 {
					depth--
				} else if src[i] == '\'' && depth == 0 {
					break
				}
			}
			b.WriteString("''")
		default:
			b.WriteByte(src[i])
		}
	}
	return b.String()
}

// TestBicep parses deploy/azure/main.bicep structurally (there is no Bicep
// compiler on these machines): balanced brackets outside strings and
// comments, each resource a 'Type@apiVersion' with a dated version, every
// parameter used, the role assignment of Cognitive Services OpenAI User to
// the user-assigned identity, probes on weft's routes, and every
// environment variable one weft (or the Azure identity SDK) reads.
func TestBicep(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "azure", "main.bicep"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	code := bicepTokens(t, src)
	var stack []byte
	pairs := map[byte]byte{'}': '{', ']': '[', ')': '('}
	line := 1
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch c {
		case '\n':
			line++
		case '{', '[', '(':
			stack = append(stack, c)
		case '}', ']', ')':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				t.Fatalf("main.bicep:%d: unbalanced %q", line, c)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Fatalf("main.bicep: %d unclosed brackets", len(stack))
	}
	resources := regexp.MustCompile(`(?m)^resource (\w+) '([A-Za-z.]+/[A-Za-z/]+)@(\d{4}-\d{2}-\d{2}(?:-preview)?)'( existing)? = \{`).FindAllStringSubmatch(src, -1)
	types := map[string]string{}
	for _, r := range resources {
		types[r[1]] = r[2]
	}
	if n := strings.Count(src, "\nresource "); n != len(resources) {
		t.Fatalf("main.bicep: %d resource lines, %d well-formed", n, len(resources))
	}
	for name, typ := range map[string]string{
		"identity": "Microsoft.ManagedIdentity/userAssignedIdentities", "openAIUser": "Microsoft.Authorization/roleAssignments",
		"app": "Microsoft.App/containerApps", "env": "Microsoft.App/managedEnvironments", "openAI": "Microsoft.CognitiveServices/accounts",
	} {
		if types[name] != typ {
			t.Errorf("main.bicep: resource %s is %q, want %s", name, types[name], typ)
		}
	}
	for _, p := range regexp.MustCompile(`(?m)^param (\w+) `).FindAllStringSubmatch(src, -1) {
		if strings.Count(code, p[1]) < 2 {
			t.Errorf("main.bicep: param %s is never used", p[1])
		}
	}
	for _, want := range []string{
		"var openAIUserRoleId = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'",
		"roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', openAIUserRoleId)",
		"principalId: identity.properties.principalId",
		"scope: openAI",
		"type: 'UserAssigned'",
		"'${identity.id}': {}",
		"path: '/healthz'",
		"path: '/readyz'",
		"targetPort: 8080",
		"memory: '2Gi'",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("main.bicep lacks %s", want)
		}
	}
	known := config.EnvOverrides()
	imageYAML, _ := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "docker", "weft.yaml"))
	for _, m := range regexp.MustCompile(`name: '([A-Z][A-Z0-9_]+)'`).FindAllStringSubmatch(src, -1) {
		n := m[1]
		// AZURE_CLIENT_ID selects the user-assigned identity of
		// DefaultAzureCredential (the Azure identity SDK reads it).
		if !slices.Contains(known, n) && !strings.Contains(string(imageYAML), "${"+n+"}") && n != "AZURE_CLIENT_ID" {
			t.Errorf("main.bicep: env %s is not a variable weft reads", n)
		}
	}
}
