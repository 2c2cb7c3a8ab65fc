package deploytest

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/internal/testenv"
)

// imageUID is the user both image targets run as (distroless "nonroot").
const imageUID = "65532"

// buildStatic builds cmd/weft as the Dockerfile does (CGO_ENABLED=0) and
// checks the binary is static: no ELF interpreter, no shared libraries.
//
// WEFT_TEST_IMAGE_BIN names an already built binary instead (local runs
// on a busy machine); it is checked the same way.
func buildStatic(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("WEFT_TEST_IMAGE_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "weft")
	} else {
		checkStatic(t, bin)
		return bin
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/weft")
	build.Dir = repoRoot(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	checkStatic(t, bin)
	return bin
}

// checkStatic fails unless bin is a static ELF executable.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("weft is dynamically linked (has an ELF interpreter); the static image cannot run it")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("weft needs shared libraries %v", libs)
	}
}

// sandbox is a command line that runs argv the way the image does: as uid
// 65532 with no capabilities, an empty environment but env, the whole
// filesystem read-only except cache (bound at /var/cache/weft), the binary
// at /usr/local/bin/weft and the image's weft.yaml at /etc/weft/weft.yaml.
func sandbox(t *testing.T, bin, cache string, env map[string]string, binds map[string]string, argv ...string) *exec.Cmd {
	t.Helper()
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Fatal("bwrap is not installed (Debian: apt-get install bubblewrap; scripts/test.sh installs it)")
	}
	// A root of its own, made read-only at the end: the host's /usr
	// stands in for the base image's files (setpriv, node), nothing else
	// of the host is visible but the files named here.
	args := []string{"--perms", "0755", "--tmpfs", "/", "--dev", "/dev", "--proc", "/proc"}
	// bwrap makes missing parents of a mount point 0700 when run as root:
	// make them 0755 first, as in an image.
	made := map[string]bool{"/": true}
	parents := func(path string) {
		var todo []string
		for d := filepath.Dir(path); !made[d]; d = filepath.Dir(d) {
			todo = append(todo, d)
			made[d] = true
		}
		for i := len(todo) - 1; i >= 0; i-- {
			args = append(args, "--perms", "0755", "--dir", todo[i])
		}
	}
	bind := func(flag, src, dst string) {
		parents(dst)
		args = append(args, flag, src, dst)
	}
	for _, d := range []string{"/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64", "/usr/share"} {
		if _, err := os.Stat(d); err == nil {
			bind("--ro-bind", d, d)
		}
	}
	for _, l := range []string{"/bin", "/sbin", "/lib", "/lib64"} {
		if target, err := os.Readlink(l); err == nil {
			args = append(args, "--symlink", target, l)
		} else if _, err := os.Stat(l); err == nil {
			args = append(args, "--ro-bind", l, l)
		}
	}
	for _, f := range []string{"/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl"} {
		if _, err := os.Stat(f); err == nil {
			bind("--ro-bind", f, f)
		}
	}
	bind("--ro-bind", bin, "/usr/local/bin/weft")
	bind("--ro-bind", filepath.Join(repoRoot(t), "deploy", "docker", "weft.yaml"), "/etc/weft/weft.yaml")
	bind("--bind", cache, "/var/cache/weft")
	for src, dst := range binds {
		bind("--ro-bind", src, dst)
	}
	args = append(args, "--remount-ro", "/", "--die-with-parent", "--clearenv")
	for k, v := range env {
		args = append(args, "--setenv", k, v)
	}
	if os.Geteuid() == 0 {
		// Root outside: drop to the image's uid with setpriv, as a
		// container runtime does (no user namespace needed).
		args = append(args, "--", "setpriv", "--reuid="+imageUID, "--regid="+imageUID, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--")
	} else {
		args = append(args, "--unshare-user", "--uid", imageUID, "--gid", imageUID, "--")
	}
	return exec.Command(bwrap, append(args, argv...)...)
}

// upstream serves one tool over Streamable HTTP on loopback.
func upstream(t *testing.T) string {
	t.Helper()
	srv := sdk.NewServer(&sdk.Implementation{Name: "fn", Version: "1"}, nil)
	type in struct{}
	sdk.AddTool(srv, &sdk.Tool{Name: "hello", Description: "Says hello."}, func(context.Context, *sdk.CallToolRequest, in) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "hello"}}}, nil, nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String() + "/mcp"
}

// TestImageContract runs the static binary as each image target runs it
// (its ENV, USER, VOLUME, ENTRYPOINT/CMD and HEALTHCHECK from the
// Dockerfile) under bwrap with a read-only root filesystem, and checks that
// it starts, serves /readyz, passes its HEALTHCHECK, keeps its state in the
// cache volume, and exits 0 promptly on SIGTERM.
func TestImageContract(t *testing.T) {
	bin := buildStatic(t)
	for _, tc := range []struct{ target, server string }{
		{"weft", "http"},
		{"weft-node", "stdio"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			img := target(t, tc.target)
			cache := t.TempDir()
			if os.Geteuid() == 0 {
				if err := os.Chown(cache, 65532, 65532); err != nil {
					t.Fatal(err)
				}
			}
			port := freePort(t)
			binds := map[string]string{}
			key := "contract-key"
			sum := sha256.Sum256([]byte(key))
			env := map[string]string{}
			for k, v := range img.Env {
				env[k] = v
			}
			// The documented variables an operator sets.
			env["WEFT_API_KEY_HASH"] = "sha256:" + hex.EncodeToString(sum[:])
			env["WEFT_ADDR"] = "127.0.0.1:" + port // host networking: a free port
			env["MCP_SERVERS_FILE"] = "/etc/weft/mcp.json"
			var servers string
			if tc.server == "http" {
				servers = fmt.Sprintf(`{"mcpServers":{"fn":{"type":"http","url":%q}}}`, upstream(t))
			} else {
				// The node target: a stdio server on node (npx in production).
				everything := testenv.NPMBin(t, "mcp-server-everything")
				npmDir := filepath.Join(repoRoot(t), "internal", "testenv", "npm")
				binds[npmDir] = npmDir
				node, _ := exec.LookPath("node")
				env["PATH"] = filepath.Dir(node) + ":/usr/local/bin:/usr/bin:/bin"
				servers = fmt.Sprintf(`{"mcpServers":{"everything":{"command":%q,"args":["stdio"]}}}`, everything)
			}
			mcpJSON := filepath.Join(t.TempDir(), "mcp.json")
			if err := os.WriteFile(mcpJSON, []byte(servers), 0o644); err != nil {
				t.Fatal(err)
			}
			binds[mcpJSON] = "/etc/weft/mcp.json"

			argv := append(append([]string{}, img.Entrypoint...), img.Cmd...)
			cmd := sandbox(t, bin, cache, env, binds, argv...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			cmd.WaitDelay = 5 * time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// exited is closed when the sandbox ended (waitErr is then
			// set), so every select below and the cleanup can all see it.
			exited := make(chan struct{})
			var waitErr error
			go func() { waitErr = cmd.Wait(); close(exited) }()
			defer func() {
				select {
				case <-exited:
				default:
					// setpriv's uid change clears bwrap's parent-death
					// signal: end weft (and its upstreams) by pid first.
					for _, p := range testenv.Descendants(cmd.Process.Pid) {
						syscall.Kill(p.PID, syscall.SIGKILL)
					}
					cmd.Process.Kill()
					<-exited
				}
			}()

			// Readiness: poll /readyz until 200 (bounded), as a probe does.
			base := "http://127.0.0.1:" + port
			deadline := time.Now().Add(90 * time.Second)
			for {
				resp, err := http.Get(base + "/readyz")
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						if string(body) != `{"ready":true}`+"\n" {
							t.Fatalf("anonymous /readyz: %s", body)
						}
						break
					}
				}
				select {
				case <-exited:
					t.Fatalf("weft exited before it was ready: %v\n%s", waitErr, stderr.String())
				case <-time.After(100 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("/readyz not 200 within 90s\n%s", stderr.String())
				}
			}
			// The HEALTHCHECK command, run in the same sandbox.
			hc := sandbox(t, bin, cache, env, binds, img.Healthcheck[1:]...)
			if out, err := hc.CombinedOutput(); err != nil || !strings.Contains(string(out), `"status":"ok"`) {
				t.Fatalf("HEALTHCHECK %v: %v\n%s", img.Healthcheck, err, out)
			}
			// The API answers with the key.
			req, _ := http.NewRequest("GET", base+"/v1/tools", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var tools struct {
				Tools []struct{ Name string } `json:"tools"`
			}
			json.NewDecoder(resp.Body).Decode(&tools)
			resp.Body.Close()
			if resp.StatusCode != 200 || len(tools.Tools) == 0 {
				t.Fatalf("/v1/tools: %d %+v", resp.StatusCode, tools)
			}
			// State lives in the volume: the catalog snapshot is written there.
			if _, err := os.Stat(filepath.Join(cache, "catalog.json")); err != nil {
				t.Errorf("no catalog snapshot in the cache volume: %v", err)
			}

			// SIGTERM to weft (the container's main process), as `docker
			// stop` and Kubernetes send it.
			weftPID := 0
			for _, p := range testenv.Descendants(cmd.Process.Pid) {
				if p.Cmd == "weft" || strings.HasPrefix(p.Cmd, "/usr/local/bin/weft serve") {
					weftPID = p.PID
					break
				}
			}
			if weftPID == 0 {
				t.Fatalf("no weft process under bwrap: %+v", testenv.Descendants(cmd.Process.Pid))
			}
			if err := syscall.Kill(weftPID, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			// Bound: server.shutdown_timeout (15s in the image) + 2s for
			// stopping upstreams + slack.
			select {
			case <-exited:
				if waitErr != nil {
					t.Fatalf("weft exited with %v on SIGTERM, want 0\n%s", waitErr, stderr.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("weft still running 20s after SIGTERM\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
				t.Errorf("no stopped log line:\n%s", stderr.String())
			}
		})
	}
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
