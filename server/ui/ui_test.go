package ui_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/server/ui"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func wantSecurityHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Security-Policy": ui.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
	if c := resp.Header.Get("Set-Cookie"); c != "" {
		t.Errorf("%s: sets a cookie %q", what, c)
	}
}

// TestHandlerServesAssets: each shipped file type comes with its own
// Content-Type and the security headers; the UI root is index.html.
func TestHandlerServesAssets(t *testing.T) {
	h := ui.Handler()
	tests := []struct {
		name, path, ctype, contains string
	}{
		{"root is index", "/ui/", "text/html; charset=utf-8", `<script type="module" src="js/app.js">`},
		{"index by name", "/ui/index.html", "text/html; charset=utf-8", "<main"},
		{"stylesheet", "/ui/style.css", "text/css; charset=utf-8", ":root"},
		{"module", "/ui/js/app.js", "text/javascript; charset=utf-8", "import"},
		{"view module", "/ui/js/views/kv.js", "text/javascript; charset=utf-8", "export async function render"},
		{"icon", "/ui/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, http.MethodGet, tc.path, nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d", tc.path, resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tc.ctype)
			}
			if !strings.Contains(string(body), tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
			wantSecurityHeaders(t, tc.path, resp)
		})
	}
}

// TestHandlerRefuses: unknown files, directories (no listing), escapes
// and other prefixes are 404s with the security headers; writes are 405.
func TestHandlerRefuses(t *testing.T) {
	h := ui.Handler()
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"unknown file", http.MethodGet, "/ui/nope.js", http.StatusNotFound},
		{"directory", http.MethodGet, "/ui/js/", http.StatusNotFound},
		{"directory without slash", http.MethodGet, "/ui/js", http.StatusNotFound},
		{"nested directory", http.MethodGet, "/ui/js/views/", http.StatusNotFound},
		{"dot segments", http.MethodGet, "/ui/js/../index.html", http.StatusNotFound},
		{"double slash", http.MethodGet, "/ui//index.html", http.StatusNotFound},
		{"encoded dot segments", http.MethodGet, "/ui/js/%2e%2e/index.html", http.StatusNotFound},
		{"file with a slash", http.MethodGet, "/ui/index.html/", http.StatusNotFound},
		{"outside the prefix", http.MethodGet, "/v1/sys/health", http.StatusNotFound},
		{"embedded root name", http.MethodGet, "/ui/static/index.html", http.StatusNotFound},
		{"source file", http.MethodGet, "/ui/ui.go", http.StatusNotFound},
		{"post", http.MethodPost, "/ui/index.html", http.StatusMethodNotAllowed},
		{"delete", http.MethodDelete, "/ui/", http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, tc.method, tc.path, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
			if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
				t.Errorf("error answer is HTML (%q): a listing?", ct)
			}
			wantSecurityHeaders(t, tc.path, resp)
		})
	}
}

// TestHandlerConditional: the ETag revalidates to a 304; HEAD has the
// headers and no body.
func TestHandlerConditional(t *testing.T) {
	h := ui.Handler()
	first := get(t, h, http.MethodGet, "/ui/js/app.js", nil)
	etag := first.Header.Get("ETag")
	if etag == "" || first.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q Cache-Control %q", etag, first.Header.Get("Cache-Control"))
	}
	again := get(t, h, http.MethodGet, "/ui/js/app.js", map[string]string{"If-None-Match": etag})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation = %d, want 304", again.StatusCode)
	}
	head := get(t, h, http.MethodHead, "/ui/style.css", nil)
	body, _ := io.ReadAll(head.Body)
	if head.StatusCode != http.StatusOK || len(body) != 0 || head.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("HEAD = %d, %d body bytes, %q", head.StatusCode, len(body), head.Header.Get("Content-Type"))
	}
}

// TestAssetsObeyCSP: nothing in the shipped files needs what the CSP
// forbids (inline script or style, event handler attributes, other
// origins), and every module the app imports is shipped.
func TestAssetsObeyCSP(t *testing.T) {
	h := ui.Handler()
	forbidden := []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`),                         // inline script
		regexp.MustCompile(`<style`),                                                // inline stylesheet
		regexp.MustCompile(`\sstyle=`),                                              // style attribute
		regexp.MustCompile(`\son[a-z]+=`),                                           // event handler attribute
		regexp.MustCompile(`(?i)(src|href)=["']?(https?:)?//`),                      // another origin
		regexp.MustCompile(`(?i)@import|url\(\s*["']?(https?:)?//`),                 // CSS from elsewhere
		regexp.MustCompile(`\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|eval\(`), // markup from strings
	}
	var files []string
	_ = fs.WalkDir(ui.Assets(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if len(files) < 8 {
		t.Fatalf("only %d assets: %v", len(files), files)
	}
	imports := regexp.MustCompile(`from '(\.{1,2}/[^']+)'`)
	for _, f := range files {
		resp := get(t, h, http.MethodGet, "/ui/"+f, nil)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s is embedded but answers %d", f, resp.StatusCode)
			continue
		}
		for _, re := range forbidden {
			if loc := re.FindIndex(b); loc != nil {
				t.Errorf("%s: %q matches %s", f, b[loc[0]:min(loc[1]+20, len(b))], re)
			}
		}
		if !strings.HasSuffix(f, ".js") {
			continue
		}
		for _, m := range imports.FindAllStringSubmatch(string(b), -1) {
			target := path.Join("/ui", path.Dir(f), m[1])
			if r := get(t, h, http.MethodGet, target, nil); r.StatusCode != http.StatusOK {
				t.Errorf("%s imports %s: %d", f, m[1], r.StatusCode)
			}
		}
	}
}
