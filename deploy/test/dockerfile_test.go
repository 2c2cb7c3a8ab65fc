package deploytest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	digest "github.com/opencontainers/go-digest"
)

// repoRoot is the root of weft's repository (this module is deploy/test).
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// image is what one Dockerfile target tells a container runtime.
type image struct {
	Env         map[string]string
	EnvOrder    []string
	User        string
	Volumes     []string
	Expose      []string
	Entrypoint  []string
	Cmd         []string
	Healthcheck []string
	StopSignal  string
}

// dockerfileStages parses the Dockerfile with buildkit's parser (the one
// `docker build` uses) into its stages.
func dockerfileStages(t testing.TB) []instructions.Stage {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	var warnings []string
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		warnings = append(warnings, rule+": "+msg)
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	if len(warnings) > 0 {
		t.Fatalf("Dockerfile lint: %s", strings.Join(warnings, "\n"))
	}
	return stages
}

// target returns what stage name sets for the runtime.
func target(t testing.TB, name string) image {
	t.Helper()
	for _, st := range dockerfileStages(t) {
		if st.Name != name {
			continue
		}
		img := image{Env: map[string]string{}}
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					img.Env[kv.Key] = kv.Value
					img.EnvOrder = append(img.EnvOrder, kv.Key)
				}
			case *instructions.UserCommand:
				img.User = c.User
			case *instructions.VolumeCommand:
				img.Volumes = append(img.Volumes, c.Volumes...)
			case *instructions.ExposeCommand:
				img.Expose = append(img.Expose, c.Ports...)
			case *instructions.EntrypointCommand:
				img.Entrypoint = c.CmdLine
			case *instructions.CmdCommand:
				img.Cmd = c.CmdLine
			case *instructions.HealthCheckCommand:
				img.Healthcheck = c.Health.Test
			case *instructions.StopSignalCommand:
				img.StopSignal = c.Signal
			}
		}
		return img
	}
	t.Fatalf("Dockerfile: no stage %q", name)
	return image{}
}

// offlineResolver stands in for the registry (there is no network here):
// every base image has an empty linux/amd64 configuration, so the checks
// that need a base image's variables see none.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return ref, digest.FromString(ref), []byte(`{"architecture":"amd64","os":"linux","config":{}}`), nil
}

// lintDockerfile runs buildkit's Dockerfile checks (the rules of
// `docker build --check`) over every stage of dt.
func lintDockerfile(t *testing.T, dt []byte) []string {
	t.Helper()
	// The source map only locates warnings; its state is empty.
	st := llb.Scratch()
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sm := llb.NewSourceMap(&st, "Dockerfile", "Dockerfile", dt)
	sm.Definition = def
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{Config: dockerui.Config{}, SourceMap: sm, MetaResolver: offlineResolver{}})
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	var got []string
	for _, w := range res.Warnings {
		line := 0
		if len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		got = append(got, linter.LintFormatShort(w.RuleName, w.Detail, line))
	}
	if res.Error != nil {
		got = append(got, "error: "+res.Error.Message)
	}
	return got
}

// TestDockerfileLint: weft's Dockerfile passes every check; a Dockerfile
// with known faults gets their warnings (the linter is really running).
func TestDockerfileLint(t *testing.T) {
	dt, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if got := lintDockerfile(t, dt); len(got) > 0 {
		t.Fatalf("Dockerfile lint warnings:\n%s", strings.Join(got, "\n"))
	}
	bad := lintDockerfile(t, []byte("FROM alpine as Build\nENV A b\nCMD weft serve\n"))
	want := []string{"FromAsCasing", "StageNameCasing", "LegacyKeyValueFormat", "JSONArgsRecommended"}
	for _, rule := range want {
		if !slices.ContainsFunc(bad, func(w string) bool { return strings.HasPrefix(w, rule+":") }) {
			t.Errorf("no %s warning for a faulty Dockerfile; got %q", rule, bad)
		}
	}
}

// TestDockerfileContract checks what both runtime targets promise: a
// non-root user, the cache volume, the documented variables, the probe.
func TestDockerfileContract(t *testing.T) {
	for _, name := range []string{"weft", "weft-node"} {
		img := target(t, name)
		if img.User != "65532:65532" {
			t.Errorf("%s: USER %q, want 65532:65532 (non-root)", name, img.User)
		}
		if !slices.Equal(img.Volumes, []string{"/var/cache/weft"}) || img.Env["WEFT_CACHE_DIR"] != "/var/cache/weft" {
			t.Errorf("%s: VOLUME %v, WEFT_CACHE_DIR %q: the cache must be the volume", name, img.Volumes, img.Env["WEFT_CACHE_DIR"])
		}
		if img.Env["WEFT_CONFIG"] != "/etc/weft/weft.yaml" || img.Env["WEFT_ADDR"] != "0.0.0.0:8080" || !slices.Equal(img.Expose, []string{"8080"}) {
			t.Errorf("%s: env %v expose %v", name, img.Env, img.Expose)
		}
		if !slices.Equal(img.Healthcheck, []string{"CMD", "/usr/local/bin/weft", "health"}) {
			t.Errorf("%s: HEALTHCHECK %v", name, img.Healthcheck)
		}
		if !slices.Equal(img.Entrypoint, []string{"/usr/local/bin/weft"}) || !slices.Equal(img.Cmd, []string{"serve"}) || img.StopSignal != "SIGTERM" {
			t.Errorf("%s: ENTRYPOINT %v CMD %v STOPSIGNAL %q", name, img.Entrypoint, img.Cmd, img.StopSignal)
		}
	}
}
