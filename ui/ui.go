// Package ui is weft's web console: TypeScript sources under src/, bundled
// by esbuild into dist/ with `go generate ./ui` (no node toolchain needed),
// committed, and embedded here so that `weft serve` serves them at /ui
// (see server/ui.go and docs/console.md).
package ui

import (
	"embed"
	"io/fs"
)

//go:generate go run ./internal/gen

//go:embed dist
var dist embed.FS

// Assets returns the built console: index.html, app.js and app.css.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("ui: embedded dist is missing: " + err.Error()) // cannot happen: dist is embedded above
	}
	return sub
}
