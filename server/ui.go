package server

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/weft-dev/weft/internal/clip"
	"github.com/weft-dev/weft/ui"
)

// consoleCSP is the Content-Security-Policy of every /ui response: only
// the console's own script and stylesheet, no inline script or style, no
// eval, requests to this origin only, never framed.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// consoleAsset is one embedded file of the console.
type consoleAsset struct {
	body  []byte
	ctype string
	etag  string
}

// consoleAssets loads the embedded console (ui/dist) once.
func consoleAssets() map[string]consoleAsset {
	out := map[string]consoleAsset{}
	fsys := ui.Assets()
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		var ct string
		switch path.Ext(p) { // not left to the system's MIME table
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".html":
			ct = "text/html; charset=utf-8"
		default:
			// Only here: the first lookup loads the system's MIME
			// tables (~2 ms, before the server is ready).
			ct = mime.TypeByExtension(path.Ext(p))
		}
		out[p] = consoleAsset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return out
}

// mountConsole serves the web console at /ui/ (and redirects /ui there).
// The assets are public, like /healthz (see public); the data the console
// shows comes from /v1 with the API key the user types, under the same
// scopes as any client. Host and Origin checks apply as everywhere.
func (s *Server) mountConsole() {
	assets := consoleAssets()
	s.mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
	})
	s.mux.HandleFunc("GET /ui/{file...}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		if name == "" {
			name = "index.html"
		}
		a, ok := assets[name]
		if !ok {
			writeProblem(w, r, http.StatusNotFound, "not_found", "no console file "+clip.String(name)+" (the console is at /ui/)")
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		if strings.Contains(r.Header.Get("If-None-Match"), a.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", a.ctype)
		w.Write(a.body)
	})
}

// consolePath reports whether p is a console asset path (public).
func consolePath(p string) bool {
	return p == "/ui" || strings.HasPrefix(p, "/ui/")
}
