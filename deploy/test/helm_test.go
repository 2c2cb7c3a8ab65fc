package deploytest

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
)

// helmRender renders the chart as `helm template` does, with the chart's
// values merged with valuesFile ("" for the defaults).
func helmRender(t *testing.T, valuesFile string) [][]byte {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "deploy", "helm", "weft")
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	vals := chartutil.Values{}
	if valuesFile != "" {
		if vals, err = chartutil.ReadValuesFile(filepath.Join(dir, valuesFile)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chartutil.ValidateAgainstSchema(ch, vals); err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "weft", Namespace: "weft", IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	var docs [][]byte
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") {
			continue
		}
		for _, d := range strings.Split(out[n], "\n---") {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

// TestHelmChart renders the chart with its default values and with
// values-production.yaml and checks each rendering as the overlays are.
func TestHelmChart(t *testing.T) {
	routes := weftRoutes(t)
	for _, c := range []struct {
		values string
		kinds  []string
	}{
		{"", []string{"ConfigMap", "Deployment", "NetworkPolicy", "PersistentVolumeClaim", "PodDisruptionBudget", "Service", "ServiceAccount"}},
		{"values-production.yaml", []string{"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor"}},
	} {
		name := c.values
		if name == "" {
			name = "values.yaml"
		}
		t.Run(name, func(t *testing.T) {
			o := decode(t, "helm "+name, helmRender(t, c.values))
			if got := slices.Sorted(slices.Values(o.kinds)); !slices.Equal(got, c.kinds) {
				t.Errorf("kinds %v, want %v", got, c.kinds)
			}
			checkWeft(t, "helm "+name, o, routes)
		})
	}
}
