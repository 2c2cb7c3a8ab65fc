package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var pgDatabases atomic.Int64

// PostgresURL returns the URL of a new, empty database on the PostgreSQL
// server started for the tests (WEFT_TEST_POSTGRES_URL, set by
// scripts/test.sh: a throw-away cluster), dropped when the test ends. The
// test fails when the variable is unset or the server unreachable.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("WEFT_TEST_POSTGRES_URL")
	if base == "" {
		t.Fatal("testenv: WEFT_TEST_POSTGRES_URL is not set; run the suite through scripts/test.sh, which starts a PostgreSQL cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("testenv: PostgreSQL at WEFT_TEST_POSTGRES_URL: %v", err)
	}
	defer admin.Close(context.Background())
	name := fmt.Sprintf("weft_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, pgDatabases.Add(1))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testenv: WEFT_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + strings.TrimPrefix(name, "/")
	return u.String()
}
