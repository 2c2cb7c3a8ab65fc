// Command ask measures the tokens a model sees per request with weft's ask
// strategies, counted with the o200k tokenizer (GPT-4o, GPT-4.1, o-series)
// offline:
//
//   - definitions: every tool of a 527-tool catalog (LiveMCPBench's tools,
//     dev set of ../shared/toolbench-data) given to the model as function
//     definitions, the way a client without weft does;
//   - agent: weft's five meta-tools, the agent prompt and one search_tools
//     answer (k=5, with signatures) for the request;
//   - plan: the plan strategy's prompt (instructions, the 20 candidate
//     tools as TypeScript signatures, the request) and its output schema;
//
// averaged over the set's queries; and a 20-tool-call workflow played by a
// scripted model: twenty sequential call_tool turns against one run_code
// program. See docs/benchmarks.md.
//
// It is a module of its own (the tokenizer stays out of weft's
// requirements); run it from its folder: cd bench/ask && go run .
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tiktoken-go/tokenizer"

	"github.com/weft-dev/weft/agent"
	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/search"
)

func main() {
	data := flag.String("data", "../../../shared/toolbench-data/livemcpbench", "a toolbench folder (tools.jsonl, queries.jsonl)")
	flag.Parse()
	if err := run(*data); err != nil {
		fmt.Fprintln(os.Stderr, "ask:", err)
		os.Exit(1)
	}
}

type benchTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
	Server      string          `json:"server"`
}

func run(dir string) error {
	enc, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		return err
	}
	count := func(v any) int {
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		ids, _, _ := enc.Encode(s)
		return len(ids)
	}
	var tools []catalog.Tool
	if err := readJSONL(filepath.Join(dir, "tools.jsonl"), func(b []byte) error {
		var t benchTool
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		ct := catalog.Tool{Original: t.Name, Server: t.Server, Description: t.Description}
		if s := strings.TrimSpace(string(t.InputSchema)); s != "" && s != "null" {
			ct.InputSchema = t.InputSchema
		}
		tools = append(tools, ct)
		return nil
	}); err != nil {
		return err
	}
	var queries []string
	if err := readJSONL(filepath.Join(dir, "queries.jsonl"), func(b []byte) error {
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(b, &q); err != nil {
			return err
		}
		queries = append(queries, q.Query)
		return nil
	}); err != nil {
		return err
	}
	snap := catalog.NewSnapshot(tools)
	ix, err := search.New(snap, search.Options{})
	if err != nil {
		return err
	}
	ctx := context.Background()

	// Every definition, as OpenAI function tools.
	var defs []map[string]any
	for _, t := range snap.Tools() {
		params := json.RawMessage(`{"type":"object","properties":{}}`)
		if len(t.InputSchema) > 0 {
			params = t.InputSchema
		}
		defs = append(defs, map[string]any{"type": "function", "function": map[string]any{
			"name": t.Name, "description": t.Description, "parameters": params}})
	}
	allDefs := count(defs)
	meta := count(agent.MetaTools())

	var sumDefs, sumAgent, sumPlan int
	for _, q := range queries {
		sumDefs += allDefs + count(q)
		hits, err := ix.Search(ctx, search.Query{Text: q, K: 5, WithSignature: true})
		if err != nil {
			return err
		}
		sumAgent += meta + count(agent.AgentMessages(q)) + count(hits.Results)
		cands, err := ix.Search(ctx, search.Query{Text: q, K: 20, WithSignature: true})
		if err != nil {
			return err
		}
		var infos []agent.ToolInfo
		for _, r := range cands.Results {
			infos = append(infos, agent.ToolInfo{Name: r.Name, Description: r.Description, Signature: r.Signature})
		}
		sumPlan += count(agent.PlanMessages(q, infos)) + count(string(agent.PlanOutput().Schema))
	}
	n := len(queries)
	avgDefs, avgAgent, avgPlan := sumDefs/n, sumAgent/n, sumPlan/n
	fmt.Printf("catalog: %d tools, %d queries (%s), o200k tokens per request (averages)\n\n", snap.Len(), n, dir)
	fmt.Println("| what the model sees | tokens | vs all definitions |")
	fmt.Println("|---|---:|---:|")
	fmt.Printf("| every tool definition + request | %d | — |\n", avgDefs)
	fmt.Printf("| agent: 5 meta-tools + prompt + one search_tools answer (k=5) | %d | %.1f%% fewer |\n", avgAgent, 100*(1-float64(avgAgent)/float64(avgDefs)))
	fmt.Printf("| plan: prompt with 20 candidate signatures + output schema | %d | %.1f%% fewer |\n", avgPlan, 100*(1-float64(avgPlan)/float64(avgDefs)))

	workflow(count)
	return nil
}

// workflow compares a 20-tool-call workflow done as sequential call_tool
// turns with one run_code program, in model turns and tokens (prompt +
// completion over all turns), with scripted model answers.
func workflow(count func(any) int) {
	const calls = 20
	request := "Fetch the 20 most recent orders and sum their totals."
	base := count(agent.AgentMessages(request)) + count(agent.MetaTools())
	callMsg := func(i int) string {
		return fmt.Sprintf(`{"role":"assistant","tool_calls":[{"id":"c%d","type":"function","function":{"name":"call_tool","arguments":"{\"name\":\"shop__get_order\",\"arguments\":{\"index\":%d}}"}}]}`, i, i)
	}
	result := func(i int) string {
		return fmt.Sprintf(`{"role":"tool","tool_call_id":"c%d","content":"{\"id\":\"ord_%05d\",\"total\":%d.50,\"currency\":\"EUR\",\"status\":\"shipped\"}"}`, i, 10000+i, 20+i)
	}
	answer := "The 20 most recent orders total 629.00 EUR."
	// Sequential: turn i sees the history of i calls and answers with call i+1.
	seqTokens, history := 0, 0
	for i := 0; i < calls; i++ {
		seqTokens += base + history + count(callMsg(i))
		history += count(callMsg(i)) + count(result(i))
	}
	seqTokens += base + history + count(answer)
	seqTurns := calls + 1

	program := `let sum = 0; for (let i = 0; i < 20; i++) { const o = await tools.shop.get_order({index: i}); sum += o.total; } return sum;`
	codeCall := fmt.Sprintf(`{"role":"assistant","tool_calls":[{"id":"c0","type":"function","function":{"name":"run_code","arguments":%q}}]}`, `{"code":"`+program+`"}`)
	codeResult := `{"role":"tool","tool_call_id":"c0","content":"629"}`
	codeTokens := base + count(codeCall) + base + count(codeCall) + count(codeResult) + count(answer)
	fmt.Printf("\n20-tool-call workflow (scripted model; prompt + completion tokens over all turns):\n\n")
	fmt.Println("| approach | model turns | tokens |")
	fmt.Println("|---|---:|---:|")
	fmt.Printf("| 20 sequential call_tool turns | %d | %d |\n", seqTurns, seqTokens)
	fmt.Printf("| one run_code program | 2 | %d (%.1f%% fewer) |\n", codeTokens, 100*(1-float64(codeTokens)/float64(seqTokens)))
}

func readJSONL(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return sc.Err()
}
