// Package ui serves SecretumVault's web UI: plain HTML, CSS and JavaScript
// modules embedded in the binary, with no build step and nothing fetched
// from another origin.
//
// The UI holds no server-side state and has no API of its own: every
// action is a request to the Vault-compatible HTTP API under /v1/, made by
// the browser with the user's token, so authentication, Cedar
// authorization and audit apply to it exactly as to any other client. The
// token lives in the tab's sessionStorage, never in a cookie.
//
// Handler answers only GET and HEAD for the embedded files, with a strict
// Content-Security-Policy (no inline script or style, no framing, no
// other origin) and an explicit Content-Type per file; anything else is
// a 404 (no directory listing) or a 405.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the URL path the UI is served under.
const Prefix = "/ui/"

// ContentSecurityPolicy is the policy of every UI response: scripts,
// styles, images and API calls from this origin only, no inline code, no
// plugins, no framing, forms posting nowhere else.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

//go:embed static
var embedded embed.FS

// contentTypes are the only file types the UI ships; a file of another
// extension is not served (the type is never sniffed).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
	".txt":  "text/plain; charset=utf-8",
}

// asset is one embedded file, read once at start.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// handler serves the assets by their path below Prefix.
type handler struct {
	assets map[string]*asset
}

// Handler returns the UI's handler. It expects the full request path
// (Prefix included); mount it at Prefix. The root of the UI is
// index.html, which routes screens by the URL fragment (#/kv, ...), so no
// other path needs a fallback.
func Handler() http.Handler {
	h, err := newHandler(Assets())
	if err != nil {
		// The files are compiled in: failing to read them is a build bug.
		panic(fmt.Sprintf("ui: embedded assets: %v", err))
	}
	return h
}

func newHandler(sub fs.FS) (*handler, error) {
	h := &handler{assets: map[string]*asset{}}
	err := fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		body, err := fs.ReadFile(sub, p)
		if err != nil {
			return fmt.Errorf("ui: read %s: %w", p, err)
		}
		sum := sha256.Sum256(body)
		h.assets[p] = &asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: walk: %w", err)
	}
	if h.assets["index.html"] == nil {
		return nil, fmt.Errorf("ui: no index.html")
	}
	return h, nil
}

// Assets returns the embedded files, rooted at the UI's root (index.html
// at "index.html").
func Assets() fs.FS {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(fmt.Sprintf("ui: embedded assets: %v", err))
	}
	return sub
}

// SetSecurityHeaders sets the headers every UI response carries, errors
// included.
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	SetSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a := h.lookup(r.URL.Path)
	if a == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("ETag", a.etag)
	// Revalidate every time: the ETag makes that a 304 when nothing
	// changed, and an upgraded binary is picked up at once.
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// lookup maps a request path to an asset: Prefix itself is index.html;
// any other path must name a file exactly (no directories, no "..").
func (h *handler) lookup(urlPath string) *asset {
	rel, ok := strings.CutPrefix(urlPath, Prefix)
	if !ok {
		return nil
	}
	if rel == "" {
		rel = "index.html"
	}
	if strings.HasSuffix(rel, "/") || path.Clean(rel) != rel || strings.HasPrefix(rel, "../") {
		return nil
	}
	return h.assets[rel]
}
