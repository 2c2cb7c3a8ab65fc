package deploytest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/server"
)

// objects is one rendering, decoded strictly into the Kubernetes API types.
type objects struct {
	deployments   []*appsv1.Deployment
	services      []*corev1.Service
	configMaps    []*corev1.ConfigMap
	accounts      []*corev1.ServiceAccount
	pvcs          []*corev1.PersistentVolumeClaim
	pdbs          []*policyv1.PodDisruptionBudget
	netpols       []*networkingv1.NetworkPolicy
	hpas          []*autoscalingv2.HorizontalPodAutoscaler
	unstructured  map[string]map[string]any // CRDs by kind: ServiceMonitor, SecretProviderClass
	kinds         []string
	renderedBytes int
}

// strict decodes doc into v, failing on any field the type does not have.
func strict(t *testing.T, where string, doc []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%s: %v\n%s", where, err, doc)
	}
}

// decode decodes every YAML document of a rendering.
func decode(t *testing.T, where string, docs [][]byte) objects {
	t.Helper()
	o := objects{unstructured: map[string]map[string]any{}}
	for _, doc := range docs {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		o.renderedBytes += len(doc)
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("%s: %v\n%s", where, err, doc)
		}
		w := where + ": " + head.Kind
		o.kinds = append(o.kinds, head.Kind)
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 Deployment":
			v := &appsv1.Deployment{}
			strict(t, w, doc, v)
			o.deployments = append(o.deployments, v)
		case "v1 Service":
			v := &corev1.Service{}
			strict(t, w, doc, v)
			o.services = append(o.services, v)
		case "v1 ConfigMap":
			v := &corev1.ConfigMap{}
			strict(t, w, doc, v)
			o.configMaps = append(o.configMaps, v)
		case "v1 ServiceAccount":
			v := &corev1.ServiceAccount{}
			strict(t, w, doc, v)
			o.accounts = append(o.accounts, v)
		case "v1 PersistentVolumeClaim":
			v := &corev1.PersistentVolumeClaim{}
			strict(t, w, doc, v)
			o.pvcs = append(o.pvcs, v)
		case "policy/v1 PodDisruptionBudget":
			v := &policyv1.PodDisruptionBudget{}
			strict(t, w, doc, v)
			o.pdbs = append(o.pdbs, v)
		case "networking.k8s.io/v1 NetworkPolicy":
			v := &networkingv1.NetworkPolicy{}
			strict(t, w, doc, v)
			o.netpols = append(o.netpols, v)
		case "autoscaling/v2 HorizontalPodAutoscaler":
			v := &autoscalingv2.HorizontalPodAutoscaler{}
			strict(t, w, doc, v)
			o.hpas = append(o.hpas, v)
		case "monitoring.coreos.com/v1 ServiceMonitor", "secrets-store.csi.x-k8s.io/v1 SecretProviderClass":
			// CRDs: no Go types in k8s.io/api; checked field by field below.
			var m map[string]any
			strict(t, w, doc, &m)
			o.unstructured[head.Kind] = m
		default:
			t.Fatalf("%s: unexpected object %s %s", where, head.APIVersion, head.Kind)
		}
	}
	return o
}

// kustomize renders an overlay with kustomize's own library (krusty).
func kustomize(t *testing.T, dir string) [][]byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	var docs [][]byte
	for _, r := range m.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	return docs
}

// weftRoutes serves weft's real routes (an offline orchestrator) to check
// probe paths against.
func weftRoutes(t *testing.T) *httptest.Server {
	t.Helper()
	cfg := config.Default()
	cfg.Cache.Dir = t.TempDir()
	o, err := weft.New(weft.Options{Config: cfg, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	hs := httptest.NewServer(server.New(o, server.Options{}))
	t.Cleanup(hs.Close)
	return hs
}

var varRef = regexp.MustCompile(`\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}`)

// placeholder values for variables a manifest takes from a Secret or the
// downward API, so that the ConfigMap's weft.yaml validates as it would in
// the pod.
var placeholders = map[string]string{
	"WEFT_API_KEY_HASH": "sha256:" + strings.Repeat("ab", 32),
	"REDIS_URL":         "redis://redis:6379/0",
	"RUNS_STORE":        "postgres://weft@postgres:5432/weft",
	"WEFT_REPLICA_ID":   "weft-0",
	"GOMEMLIMIT":        "2147483648",
}

// checkWeft checks one rendering against weft itself.
func checkWeft(t *testing.T, where string, o objects, routes *httptest.Server) {
	t.Helper()
	if len(o.deployments) != 1 || len(o.configMaps) != 1 || len(o.services) != 1 {
		t.Fatalf("%s: want one Deployment, ConfigMap and Service; got kinds %v", where, o.kinds)
	}
	d, cm, svc := o.deployments[0], o.configMaps[0], o.services[0]
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers", where, len(pod.Containers))
	}
	c := pod.Containers[0]
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}

	// Environment: every name is one weft reads (config.EnvOverrides,
	// incl. the model variables), WEFT_CONFIG, a ${VAR} of the
	// ConfigMap's weft.yaml, or the Go runtime's GOMEMLIMIT.
	weftYAML := cm.Data["weft.yaml"]
	refs := map[string]bool{}
	for _, m := range varRef.FindAllStringSubmatch(weftYAML, -1) {
		refs[m[1]] = true
	}
	known := config.EnvOverrides()
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case slices.Contains(known, e.Name), e.Name == "WEFT_CONFIG", refs[e.Name], e.Name == "GOMEMLIMIT":
		default:
			t.Errorf("%s: env %s is not a variable weft reads (config.EnvOverrides, WEFT_CONFIG, a ${VAR} of weft.yaml)", where, e.Name)
		}
		v := e.Value
		if e.ValueFrom != nil {
			v = placeholders[e.Name]
			if v == "" {
				t.Errorf("%s: env %s from a secret/field has no placeholder in this test", where, e.Name)
			}
		}
		env[e.Name] = v
	}
	// WEFT_CONFIG names the ConfigMap's weft.yaml as mounted.
	if env["WEFT_CONFIG"] != mounts["config"]+"/weft.yaml" {
		t.Errorf("%s: WEFT_CONFIG %q, config mounted at %q", where, env["WEFT_CONFIG"], mounts["config"])
	}

	// The ConfigMap's weft.yaml validates with the pod's environment.
	dir := t.TempDir()
	path := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(path, []byte(weftYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if mj, ok := cm.Data["mcp.json"]; ok {
		mp := filepath.Join(dir, "mcp.json")
		if err := os.WriteFile(mp, []byte(mj), 0o600); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(weftYAML, "mcp_servers_file: "+mounts["config"]+"/mcp.json") {
			t.Errorf("%s: weft.yaml does not name the mounted mcp.json", where)
		}
		weftYAML = strings.ReplaceAll(weftYAML, mounts["config"]+"/mcp.json", mp)
		os.WriteFile(path, []byte(weftYAML), 0o600)
	}
	podEnv := func(k string) (string, bool) {
		if k == "WEFT_CONFIG" {
			return "", false
		}
		v, ok := env[k]
		return v, ok
	}
	cfg, err := config.Load(config.LoadOptions{Path: path, HomeDir: dir, Env: podEnv})
	if err != nil {
		t.Fatalf("%s: the ConfigMap's weft.yaml with the pod's environment: %v", where, err)
	}

	// Ports: the container port is server.addr's, the Service targets it.
	_, port, _ := strings.Cut(cfg.Server.Addr, ":")
	if !strings.HasPrefix(cfg.Server.Addr, "0.0.0.0:") {
		t.Errorf("%s: server.addr %q: a pod must listen on 0.0.0.0", where, cfg.Server.Addr)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || fmt.Sprint(c.Ports[0].ContainerPort) != port {
		t.Errorf("%s: container ports %+v, server.addr %s", where, c.Ports, cfg.Server.Addr)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Errorf("%s: service ports %+v", where, svc.Spec.Ports)
	}
	// Probes: the paths weft serves, on the http port.
	probes := []struct {
		name string
		p    *corev1.Probe
		path string
	}{{"startup", c.StartupProbe, "/healthz"}, {"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}}
	for _, pr := range probes {
		if pr.p == nil || pr.p.HTTPGet == nil {
			t.Errorf("%s: no %s probe", where, pr.name)
			continue
		}
		if pr.p.HTTPGet.Path != pr.path || pr.p.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("%s: %s probe %s on %v, want %s on http", where, pr.name, pr.p.HTTPGet.Path, pr.p.HTTPGet.Port, pr.path)
		}
		resp, err := http.Get(routes.URL + pr.p.HTTPGet.Path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			t.Errorf("%s: %s probe path %s is not a route of weft", where, pr.name, pr.p.HTTPGet.Path)
		}
	}
	// Requests 1 CPU / 2 GiB.
	if c.Resources.Requests.Cpu().String() != "1" || c.Resources.Requests.Memory().String() != "2Gi" {
		t.Errorf("%s: requests %v", where, c.Resources.Requests)
	}
	// SIGTERM drain fits in the grace period: preStop + shutdown_timeout +
	// 2s for stopping upstreams.
	pre := int64(0)
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		pre = c.Lifecycle.PreStop.Sleep.Seconds
	}
	need := pre + int64(cfg.Server.ShutdownTimeout.D().Seconds()) + 2
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds < need {
		t.Errorf("%s: terminationGracePeriodSeconds %v < preStop %ds + server.shutdown_timeout %s + 2s", where, pod.TerminationGracePeriodSeconds, pre, cfg.Server.ShutdownTimeout.D())
	}
	// Hardening: non-root, read-only root filesystem, no privileges.
	sc := c.SecurityContext
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: security contexts %+v %+v", where, pod.SecurityContext, sc)
	}
	// cache.dir is the cache volume.
	if mounts["cache"] != cfg.Cache.Dir {
		t.Errorf("%s: cache volume at %q, cache.dir %q", where, mounts["cache"], cfg.Cache.Dir)
	}
	// Selectors select the pods.
	labels := d.Spec.Template.Labels
	selects := func(sel map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	if d.Spec.Selector == nil || !selects(d.Spec.Selector.MatchLabels) || !selects(svc.Spec.Selector) {
		t.Errorf("%s: selectors do not select the pod labels %v", where, labels)
	}
	for _, p := range o.pdbs {
		if p.Spec.Selector == nil || !selects(p.Spec.Selector.MatchLabels) {
			t.Errorf("%s: PDB selector %v", where, p.Spec.Selector)
		}
	}
	for _, n := range o.netpols {
		if !selects(n.Spec.PodSelector.MatchLabels) {
			t.Errorf("%s: NetworkPolicy podSelector %v", where, n.Spec.PodSelector)
		}
		in := n.Spec.Ingress
		if len(in) == 0 || len(in[0].Ports) == 0 || in[0].Ports[0].Port.String() != port {
			t.Errorf("%s: NetworkPolicy ingress %+v does not admit port %s", where, in, port)
		}
	}
	for _, h := range o.hpas {
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
			t.Errorf("%s: HPA targets %+v", where, h.Spec.ScaleTargetRef)
		}
	}
	if sm := o.unstructured["ServiceMonitor"]; sm != nil {
		eps, _ := sm["spec"].(map[string]any)["endpoints"].([]any)
		if len(eps) != 1 || eps[0].(map[string]any)["port"] != "http" || eps[0].(map[string]any)["path"] != "/metrics" {
			t.Errorf("%s: ServiceMonitor endpoints %v", where, eps)
		}
	}
}

// TestKustomizeOverlays renders every overlay and checks it.
func TestKustomizeOverlays(t *testing.T) {
	routes := weftRoutes(t)
	root := filepath.Join(repoRoot(t), "deploy", "kubernetes", "overlays")
	want := map[string][]string{
		"dev":        {"ServiceAccount", "ConfigMap", "Service", "PersistentVolumeClaim", "Deployment", "PodDisruptionBudget", "NetworkPolicy"},
		"production": {"ServiceAccount", "ConfigMap", "Service", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"},
		"azure":      {"ServiceAccount", "ConfigMap", "Service", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "SecretProviderClass"},
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			o := decode(t, name, kustomize(t, filepath.Join(root, name)))
			got := slices.Sorted(slices.Values(o.kinds))
			if w := slices.Sorted(slices.Values(want[name])); !slices.Equal(got, w) {
				t.Errorf("kinds %v, want %v", got, w)
			}
			checkWeft(t, name, o, routes)
		})
	}
	t.Run("azure workload identity", func(t *testing.T) {
		o := decode(t, "azure", kustomize(t, filepath.Join(root, "azure")))
		sa := o.accounts[0]
		d := o.deployments[0]
		if sa.Annotations["azure.workload.identity/client-id"] == "" || d.Spec.Template.Labels["azure.workload.identity/use"] != "true" || d.Spec.Template.Spec.ServiceAccountName != sa.Name {
			t.Errorf("workload identity: sa %v, pod labels %v", sa.Annotations, d.Spec.Template.Labels)
		}
		spc := o.unstructured["SecretProviderClass"]["spec"].(map[string]any)
		if spc["provider"] != "azure" {
			t.Errorf("SecretProviderClass provider %v", spc["provider"])
		}
		// The synced Secret carries every key the Deployment reads.
		synced := map[string]bool{}
		for _, so := range spc["secretObjects"].([]any) {
			for _, d := range so.(map[string]any)["data"].([]any) {
				synced[so.(map[string]any)["secretName"].(string)+"/"+d.(map[string]any)["key"].(string)] = true
			}
		}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil && !synced[r.SecretKeyRef.Name+"/"+r.SecretKeyRef.Key] {
				t.Errorf("env %s reads %s/%s, which Key Vault does not sync", e.Name, r.SecretKeyRef.Name, r.SecretKeyRef.Key)
			}
		}
	})
}
