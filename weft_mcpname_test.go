package weft_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
)

// TestMCPNameLogged checks that a server imported from an mcp.json under a
// derived name is logged with both names, so that a user who never runs
// weft config check still learns its tools' prefix.
func TestMCPNameLogged(t *testing.T) {
	cfg := baseConfig(t)
	addServer(cfg, &config.Server{Name: "mcp_filesystem", MCPName: "mcp.filesystem", Transport: config.TransportStdio, Command: "true", Origin: "mcp.json:3"})
	var buf bytes.Buffer
	o, err := weft.New(weft.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	want := `msg="mcp.json server imported under a valid name" mcp_name=mcp.filesystem server=mcp_filesystem origin=mcp.json:3`
	if !strings.Contains(buf.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, buf.String())
	}
}
