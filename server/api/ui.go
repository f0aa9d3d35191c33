package api

import (
	"net/http"
	"strings"

	"github.com/secretumvault/secretumvault/server/ui"
)

// withUI serves the web UI at /ui/ (and redirects / and /ui to it) in
// front of next. The UI is static files only: everything it does is a
// request to /v1/ from the browser, which goes through next like any
// other client's.
func withUI(next http.Handler) http.Handler {
	assets := ui.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, ui.Prefix):
			assets.ServeHTTP(w, r)
		case (r.URL.Path == "/" || r.URL.Path == "/ui") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			ui.SetSecurityHeaders(w.Header())
			http.Redirect(w, r, ui.Prefix, http.StatusTemporaryRedirect)
		default:
			next.ServeHTTP(w, r)
		}
	})
}
