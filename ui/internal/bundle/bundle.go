// Package bundle builds the console's assets from its sources with
// esbuild's Go API: src/main.ts (and the CSS it imports) into app.js and
// app.css, plus index.html copied as is. The same function serves
// `go generate ./ui` and the test that checks the committed bundle is
// current.
package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Files are the names Build produces, in order.
var Files = []string{"app.css", "app.js", "index.html"}

// Build bundles the console whose sources are under root (the ui
// directory) and returns each output file's content by name.
func Build(root string) (map[string][]byte, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	res := api.Build(api.BuildOptions{
		AbsWorkingDir:     abs,
		EntryPoints:       []string{"src/main.ts"},
		EntryNames:        "app",
		Outdir:            "out",
		Bundle:            true,
		Write:             false,
		Format:            api.FormatIIFE,
		Target:            api.ES2020,
		Platform:          api.PlatformBrowser,
		MinifyWhitespace:  true,
		MinifySyntax:      true,
		MinifyIdentifiers: true,
		LegalComments:     api.LegalCommentsNone,
		Charset:           api.CharsetUTF8,
		Sourcemap:         api.SourceMapNone,
		LogLevel:          api.LogLevelSilent,
		TsconfigRaw:       `{"compilerOptions":{"strict":true}}`,
	})
	if len(res.Errors) > 0 {
		msgs := api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
		return nil, fmt.Errorf("bundle: esbuild: %s", strings.Join(msgs, ""))
	}
	out := map[string][]byte{}
	for _, f := range res.OutputFiles {
		out[filepath.Base(f.Path)] = f.Contents
	}
	html, err := os.ReadFile(filepath.Join(abs, "index.html"))
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	out["index.html"] = html
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != strings.Join(Files, ",") {
		return nil, fmt.Errorf("bundle: esbuild produced %v, want %v", names, Files)
	}
	return out, nil
}
