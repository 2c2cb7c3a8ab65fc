package embed

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/weft-dev/weft/search/embed/embedtest"
)

func TestCachePersists(t *testing.T) {
	srv := embedtest.NewServer(8)
	defer srv.Close()
	dir := t.TempDir()
	client, _ := New(Config{BaseURL: srv.URL, Model: "m"})
	c, err := NewCache(client, CacheOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v1, err := c.Embed(ctx, []string{"a b", "c", "a b"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()[0].Input); n != 2 {
		t.Errorf("sent %d texts, want 2 (duplicates once)", n)
	}
	if _, err := c.Embed(ctx, []string{"c"}); err != nil {
		t.Fatal(err)
	}
	if len(srv.Requests()) != 1 {
		t.Errorf("cached text re-embedded")
	}
	if h, m := c.Stats(); h != 1 || m != 2 {
		t.Errorf("stats %d hits %d misses", h, m)
	}
	c.Close()

	// A restart reads the file instead of calling the server.
	c2, err := NewCache(client, CacheOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	v2, err := c2.Embed(ctx, []string{"a b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Requests()) != 1 || !slices.Equal(v1[0], v2[0]) || !slices.Equal(v1[1], v2[1]) {
		t.Errorf("restart re-embedded or changed vectors (%d requests)", len(srv.Requests()))
	}
}

func TestCacheTTLAndTornFile(t *testing.T) {
	srv := embedtest.NewServer(8)
	defer srv.Close()
	dir := t.TempDir()
	client, _ := New(Config{BaseURL: srv.URL, Model: "m"})
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	c, _ := NewCache(client, CacheOptions{Dir: dir, TTL: time.Hour, Now: clock})
	c.Embed(context.Background(), []string{"x"})
	c.Close()
	// Tear the file's last record.
	files, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	st, _ := os.Stat(files[0])
	os.Truncate(files[0], st.Size()-3)

	now = now.Add(2 * time.Hour)
	c2, err := NewCache(client, CacheOptions{Dir: dir, TTL: time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if len(srv.Requests()) != 2 {
		t.Errorf("expired/torn vector was served from cache")
	}
}
