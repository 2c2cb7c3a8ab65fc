package deploytest

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/server"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// composeFile is the part of the Compose specification deploy/compose.yaml
// uses; decoding is strict, so a misspelt key fails.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]struct{}       `json:"volumes"`
}

type composeService struct {
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
		Target     string `json:"target"`
	} `json:"build"`
	Image       string            `json:"image"`
	Command     []string          `json:"command"`
	Ports       []string          `json:"ports"`
	Environment map[string]string `json:"environment"`
	Volumes     []string          `json:"volumes"`
	ReadOnly    bool              `json:"read_only"`
	Tmpfs       []string          `json:"tmpfs"`
	User        string            `json:"user"`
	CapDrop     []string          `json:"cap_drop"`
	SecurityOpt []string          `json:"security_opt"`
	StopGrace   string            `json:"stop_grace_period"`
	DependsOn   json.RawMessage   `json:"depends_on"`
	Restart     string            `json:"restart"`
	Healthcheck *struct {
		Test     []string `json:"test"`
		Interval string   `json:"interval"`
		Timeout  string   `json:"timeout"`
		Retries  int      `json:"retries"`
	} `json:"healthcheck"`
}

// TestCompose parses deploy/compose.yaml strictly: the six services, weft
// built from the Dockerfile's targets, every variable one weft reads, every
// mounted file present.
func TestCompose(t *testing.T) {
	root := filepath.Join(repoRoot(t), "deploy")
	data, err := os.ReadFile(filepath.Join(root, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	strict(t, "compose.yaml", data, &c)
	for _, s := range []string{"weft", "redis", "postgres", "otel-collector", "prometheus", "grafana"} {
		if _, ok := c.Services[s]; !ok {
			t.Errorf("compose.yaml: no service %s", s)
		}
	}
	w := c.Services["weft"]
	if w.Build == nil || w.Build.Target != "weft-node" || !w.ReadOnly || w.User != "65532:65532" {
		t.Errorf("weft service: %+v", w)
	}
	known := config.EnvOverrides()
	imageYAML, _ := os.ReadFile(filepath.Join(root, "docker", "weft.yaml"))
	for k := range w.Environment {
		if !strings.Contains(strings.Join(known, " ")+" ", k+" ") && !strings.Contains(string(imageYAML), "${"+k+"}") {
			t.Errorf("weft service: %s is not a variable weft reads", k)
		}
	}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			}
		}
	}
	// The mounted configuration files parse.
	for _, f := range []string{"compose/prometheus.yml", "compose/otel-collector.yaml", "compose/grafana/provisioning/datasources/prometheus.yaml", "compose/grafana/provisioning/dashboards/weft.yaml"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil || len(m) == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	var mcp struct {
		MCPServers map[string]any `json:"mcpServers"`
	}
	b, _ := os.ReadFile(filepath.Join(root, "compose", "mcp.json"))
	if err := json.Unmarshal(b, &mcp); err != nil || len(mcp.MCPServers) == 0 {
		t.Errorf("compose/mcp.json: %v", err)
	}
}

var metricName = regexp.MustCompile(`\b((?:weft|go|process)_[a-z0-9_]+)\b`)

// TestGrafanaDashboard checks that every metric the dashboard queries is
// in a real scrape of weft's /metrics after traffic: REST tool calls (ok
// and failing), and a rate-limit decision made without Redis.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "grafana", "weft-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil || dash.UID != "weft" || len(dash.Panels) == 0 {
		t.Fatalf("dashboard: %v %+v", err, dash)
	}

	// weft with a Go-function tool and a Redis limiter nothing listens
	// behind (fail mode open: requests pass, each counted as a failure).
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	cfg := config.Default()
	cfg.Cache.Dir = t.TempDir()
	cfg.Limits.RedisURL = "redis://" + dead + "/0"
	cfg.Limits.RedisFailMode = "open"
	fn := function.New("fn", "test functions")
	type in struct {
		Fail bool `json:"fail"`
	}
	if err := function.Add(fn, "echo", "Echoes.", func(_ context.Context, a in) (string, error) {
		if a.Fail {
			return "", errBoom
		}
		return "ok", nil
	}); err != nil {
		t.Fatal(err)
	}
	o, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{fn}})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(o, server.Options{}))
	defer hs.Close()
	for _, body := range []string{`{}`, `{"fail":true}`} {
		resp, err := http.Post(hs.URL+"/v1/tools/fn__echo/call", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	scraped := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		scraped[name] = true
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllStringSubmatch(tg.Expr, -1) {
				if !scraped[m[1]] {
					t.Errorf("panel %q queries %s, which weft's /metrics does not serve", p.Title, m[1])
				}
			}
		}
	}
}

type boom struct{}

func (boom) Error() string { return "boom" }

var errBoom error = boom{}
