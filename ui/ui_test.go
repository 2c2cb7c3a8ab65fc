package ui

import (
	"bytes"
	"io/fs"
	"testing"

	"github.com/weft-dev/weft/ui/internal/bundle"
)

// TestBundleIsCurrent fails when the committed dist/ is not what
// `go generate ./ui` produces from the sources: run it and commit dist/.
func TestBundleIsCurrent(t *testing.T) {
	want, err := bundle.Build(".")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	err = fs.WalkDir(Assets(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		got[p] = true
		b, err := fs.ReadFile(Assets(), p)
		if err != nil {
			return err
		}
		w, ok := want[p]
		switch {
		case !ok:
			t.Errorf("dist/%s is not produced by the build; delete it", p)
		case !bytes.Equal(b, w):
			t.Errorf("dist/%s is stale (%d bytes committed, %d built): run `go generate ./ui` and commit ui/dist", p, len(b), len(w))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if !got[name] {
			t.Errorf("dist/%s is missing: run `go generate ./ui` and commit ui/dist", name)
		}
	}
}
