// Command gen writes the console's bundle into dist/ (run by
// `go generate ./ui` from the ui directory).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/weft-dev/weft/ui/internal/bundle"
)

func main() {
	files, err := bundle.Build(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, name := range bundle.Files {
		if err := os.WriteFile(filepath.Join("dist", name), files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		fmt.Printf("ui/dist/%s: %d bytes\n", name, len(files[name]))
	}
}
