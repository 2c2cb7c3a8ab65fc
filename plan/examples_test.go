package plan

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/internal/testenv"
)

type upstreamSet map[string]*mcpUpstream

func (s upstreamSet) Upstream(server string) (engine.Upstream, bool) {
	u, ok := s[server]
	return u, ok
}

// startNPM starts an npm reference MCP server as a subprocess.
func startNPM(t *testing.T, name, bin string, env ...string) *mcpUpstream {
	t.Helper()
	cmd := exec.Command(testenv.NPMBin(t, bin))
	cmd.Env = append(os.Environ(), env...)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "weft-test", Version: "0"}, nil).
		Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() { cs.Close() })
	return &mcpUpstream{name: name, session: cs}
}

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "examples", "plans", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExamplePlans checks and runs examples/plans against the npm
// reference servers (server-everything, server-memory).
func TestExamplePlans(t *testing.T) {
	ctx := context.Background()
	ups := upstreamSet{
		"everything": startNPM(t, "everything", "mcp-server-everything"),
		"memory":     startNPM(t, "memory", "mcp-server-memory", "MEMORY_FILE_PATH="+filepath.Join(t.TempDir(), "memory.jsonl")),
	}
	var tools []catalog.Tool
	for _, u := range ups {
		ts, err := u.tools(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tools = append(tools, ts...)
	}
	snap := catalog.NewSnapshot(tools)
	eng := engine.New(engine.Options{Catalog: fixedCatalog{snap}, Upstreams: ups})
	x := NewExecutor(ExecutorOptions{Caller: eng})

	schema, err := catalog.CompileSchema(Schema)
	if err != nil {
		t.Fatalf("plan/schema.json: %v", err)
	}
	cases := []struct {
		file   string
		inputs map[string]any
		check  func(t *testing.T, r *Run)
	}{
		{"parallel-sums.json", map[string]any{"x": 1}, func(t *testing.T, r *Run) {
			want := "Echo: The sum of 1 and 3 is 4. | The sum of 1 and 1 is 2. | The sum of 3 and 3 is 6."
			if got := r.Outputs["report"]; got != want {
				t.Errorf("report = %#v", got)
			}
		}},
		{"weather.json", nil, func(t *testing.T, r *Run) {
			if got := jsonOf(r.Outputs["warm"]); got != `[null,null,"Echo: Los Angeles is warm"]` {
				t.Errorf("warm = %s", got)
			}
			if got := stepOf(t, r, "first").Result; got != "Echo: Cloudy, 82% humidity" {
				t.Errorf("first = %#v", got)
			}
		}},
		{"knowledge-graph.json", map[string]any{"person": "Ada", "company": "Analytical Engines"}, func(t *testing.T, r *Run) {
			if got := jsonOf(r.Outputs["relations"]); got != `[{"from":"Ada","relationType":"works_at","to":"Analytical Engines"}]` {
				t.Errorf("relations = %s", got)
			}
			if ents, _ := r.Outputs["entities"].([]any); len(ents) != 2 {
				t.Errorf("entities = %s\n%s", jsonOf(r.Outputs["entities"]), jsonOf(r.Steps))
			}
		}},
		{"legacy.json", nil, func(t *testing.T, r *Run) {
			if got := stepOf(t, r, "say").Result; got != "Echo: The sum of 40 and 2 is 42." {
				t.Errorf("say = %#v", got)
			}
			if s := stepOf(t, r, "remember"); s.Status != StepSucceeded {
				t.Errorf("remember: %s", jsonOf(s))
			}
			if !strings.Contains(string(r.Plan.FinalSynthesis), "Tell the user") {
				t.Error("final_synthesis lost")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			doc := readExample(t, tc.file)
			p, err := Parse(doc)
			if err != nil {
				t.Fatal(err)
			}
			if p.Format == FormatWeft {
				if err := catalog.ValidateArgs("plan", schema, doc); err != nil {
					t.Errorf("does not match plan/schema.json: %v", err)
				}
			}
			if probs := Check(snap.View(nil), p); len(probs) != 0 {
				t.Fatalf("check: %v", &ProblemsError{Problems: probs})
			}
			r, err := x.Run(ctx, p, tc.inputs, RunOptions{Catalog: snap.View(nil)})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != RunSucceeded {
				t.Fatalf("run %s: %s", r.Status, jsonOf(r.Steps))
			}
			tc.check(t, r)
		})
	}
	// Re-running the knowledge-graph plan writes nothing twice.
	r, err := x.Run(ctx, mustParse(t, string(readExample(t, "knowledge-graph.json"))), map[string]any{"person": "Ada", "company": "Analytical Engines"}, RunOptions{})
	if err != nil || r.Status != RunSucceeded {
		t.Fatalf("re-run: %v %s", err, jsonOf(r))
	}
	for _, id := range []string{"person", "company", "works_at"} {
		if s := stepOf(t, r, id); s.Reused != "cache" {
			t.Errorf("re-run %s: %s", id, jsonOf(s))
		}
	}
}

// TestSchemaMatchesParser: documents the parser accepts match the
// embedded schema, and a few it rejects do not.
func TestSchemaMatchesParser(t *testing.T) {
	schema, err := catalog.CompileSchema(Schema)
	if err != nil {
		t.Fatal(err)
	}
	good := []string{
		`{"steps":[{"id":"a","tool":"x","args":{"q":"{{inputs.q}}"},"retry":{"attempts":3,"backoff":"1s","on":["timeout"]},"timeout":2.5}]}`,
		`{"version":"1","steps":[{"id":"a","code":"return 1","inputs":{"x":1}},{"id":"b","plan":{"steps":[{"id":"c","tool":"y"}]},"foreach":"{{steps.a.result}}","concurrency":2,"when":true}]}`,
	}
	bad := []string{
		`{"steps":[{"id":"a","tool":"x","code":"y"}]}`,
		`{"steps":[{"id":"a","tool":"x","bogus":1}]}`,
		`{"steps":[]}`,
	}
	for _, d := range good {
		if _, err := Parse([]byte(d)); err != nil {
			t.Errorf("parse %s: %v", d, err)
		}
		if err := catalog.ValidateArgs("plan", schema, json.RawMessage(d)); err != nil {
			t.Errorf("schema rejects %s: %v", d, err)
		}
	}
	for _, d := range bad {
		if _, err := Parse([]byte(d)); err == nil {
			t.Errorf("parse accepts %s", d)
		}
		if err := catalog.ValidateArgs("plan", schema, json.RawMessage(d)); err == nil {
			t.Errorf("schema accepts %s", d)
		}
	}
}
