package eval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/weft-dev/weft/catalog"
)

// benchTool is one line of a toolbench tools.jsonl.
type benchTool struct {
	ID                string          `json:"id"`
	Name              string          `json:"name"`
	Description       string          `json:"description"`
	InputSchema       json.RawMessage `json:"input_schema"`
	Server            string          `json:"server"`
	ServerTitle       string          `json:"server_title"`
	ServerDescription string          `json:"server_description"`
	Category          string          `json:"category"`
}

// benchQuery is one line of a toolbench queries.jsonl.
type benchQuery struct {
	ID       string   `json:"id"`
	Query    string   `json:"query"`
	Relevant []string `json:"relevant"`
	Split    string   `json:"split"`
}

// dataset is a loaded toolbench folder: tools in file order (with catalog
// names assigned) and the queries of one split, relevance as catalog names.
type dataset struct {
	name    string
	tools   []catalog.Tool
	queries []evalQuery
	// missing counts relevant ids that name no tool.
	missing int
}

type evalQuery struct {
	id       string
	text     string
	relevant map[string]bool // catalog names
}

// loadDataset reads dir/tools.jsonl and dir/queries.jsonl.
func loadDataset(dir, split string) (*dataset, error) {
	var raw []benchTool
	if err := readJSONL(filepath.Join(dir, "tools.jsonl"), func(line []byte) error {
		var t benchTool
		if err := json.Unmarshal(line, &t); err != nil {
			return err
		}
		raw = append(raw, t)
		return nil
	}); err != nil {
		return nil, err
	}
	tools := make([]catalog.Tool, len(raw))
	for i, r := range raw {
		tools[i] = toolOf(r)
	}
	snap := catalog.NewSnapshot(tools)
	type key struct{ server, original string }
	names := make(map[key]string, snap.Len())
	for _, t := range snap.Tools() {
		names[key{t.Server, t.Original}] = t.Name
	}
	ds := &dataset{name: filepath.Base(filepath.Clean(dir))}
	idToName := make(map[string]string, len(raw))
	for i := range tools {
		n, ok := names[key{tools[i].Server, tools[i].Original}]
		if !ok {
			return nil, fmt.Errorf("eval: %s: tool %q lost its name", dir, raw[i].ID)
		}
		if _, dup := idToName[raw[i].ID]; dup {
			continue
		}
		idToName[raw[i].ID] = n
		tools[i].Name = n
		tools[i].Hash = catalog.ContentHash(&tools[i])
		ds.tools = append(ds.tools, tools[i])
	}
	err := readJSONL(filepath.Join(dir, "queries.jsonl"), func(line []byte) error {
		var q benchQuery
		if err := json.Unmarshal(line, &q); err != nil {
			return err
		}
		if split != "all" && q.Split != split {
			return nil
		}
		eq := evalQuery{id: q.ID, text: q.Query, relevant: make(map[string]bool, len(q.Relevant))}
		for _, id := range q.Relevant {
			if n, ok := idToName[id]; ok {
				eq.relevant[n] = true
			} else {
				ds.missing++
			}
		}
		if len(eq.relevant) > 0 {
			ds.queries = append(ds.queries, eq)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ds.queries) == 0 {
		return nil, fmt.Errorf("eval: %s has no queries in split %q", dir, split)
	}
	return ds, nil
}

// toolOf converts a toolbench tool to a catalog tool: category becomes a
// tag, the server title joins the server description.
func toolOf(r benchTool) catalog.Tool {
	t := catalog.Tool{
		Original:    r.Name,
		Server:      r.Server,
		Description: r.Description,
	}
	if s := strings.TrimSpace(string(r.InputSchema)); s != "" && s != "null" {
		t.InputSchema = r.InputSchema
	}
	var sd []string
	for _, s := range []string{r.ServerTitle, r.ServerDescription} {
		if s != "" {
			sd = append(sd, s)
		}
	}
	t.ServerDescription = strings.Join(sd, ". ")
	if r.Category != "" {
		t.Tags = []string{r.Category}
	}
	return t
}

func readJSONL(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("eval: %s:%d: %w", path, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("eval: %s: %w", path, err)
	}
	return nil
}

// Queries returns the texts of a toolbench folder's queries of one split
// ("dev", "test" or "all") that have a relevant tool in the set, in file
// order: what Run measures, for benchmarks that time engines side by side.
func Queries(dir, split string) ([]string, error) {
	if split == "" {
		split = "dev"
	}
	ds, err := loadDataset(dir, split)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ds.queries))
	for i, q := range ds.queries {
		out[i] = q.text
	}
	return out, nil
}
