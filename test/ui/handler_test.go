package ui

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/server/ui"
)

// TestServedByVaultd: the vaultd binary serves the UI at /ui/ with its
// headers, redirects / there, and still answers the API under /v1/.
func TestServedByVaultd(t *testing.T) {
	s := newServer(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, path   string
		status       int
		ctype, where string
	}{
		{"root redirects", "/", http.StatusTemporaryRedirect, "", "/ui/"},
		{"ui without slash redirects", "/ui", http.StatusTemporaryRedirect, "", "/ui/"},
		{"index", "/ui/", http.StatusOK, "text/html; charset=utf-8", ""},
		{"module", "/ui/js/api.js", http.StatusOK, "text/javascript; charset=utf-8", ""},
		{"no listing", "/ui/js/", http.StatusNotFound, "text/plain; charset=utf-8", ""},
		{"unknown", "/ui/secrets.json", http.StatusNotFound, "text/plain; charset=utf-8", ""},
		{"api untouched", "/v1/sys/seal-status", http.StatusOK, "application/json", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := noFollow.Get(s.url() + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s = %d %s", tc.path, resp.StatusCode, body)
			}
			if tc.where != "" && resp.Header.Get("Location") != tc.where {
				t.Errorf("Location = %q, want %q", resp.Header.Get("Location"), tc.where)
			}
			if tc.ctype != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tc.ctype)
			}
			if strings.HasPrefix(tc.path, "/v1/") {
				return
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != ui.ContentSecurityPolicy {
				t.Errorf("CSP = %q", got)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("headers: %v", resp.Header)
			}
		})
	}
}
