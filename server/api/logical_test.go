package api_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/server/api"
)

var (
	envelopeKeys = []string{"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info",
		"warnings", "auth", "mount_type"}
	uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

type kvEnvelope struct {
	RequestID string `json:"request_id"`
	Data      struct {
		Data     map[string]any `json:"data"`
		Metadata struct {
			Version int `json:"version"`
		} `json:"metadata"`
		Keys []string `json:"keys"`
	} `json:"data"`
	WrapInfo  any    `json:"wrap_info"`
	Auth      any    `json:"auth"`
	MountType string `json:"mount_type"`
}

func TestLogicalKV(t *testing.T) {
	ts, root := unsealed(t)
	var env kvEnvelope
	r := ts.mustJSON(t, "PUT", "/v1/secret/data/app", root, `{"data":{"user":"alice"}}`, 200, &env)
	if got := topKeys(t, r.body); !slices.Equal(got, envelopeKeys) {
		t.Errorf("envelope keys = %v, want %v", got, envelopeKeys)
	}
	if !uuidV4.MatchString(env.RequestID) || env.MountType != "kv" || env.WrapInfo != nil || env.Auth != nil {
		t.Errorf("envelope = %s", r.body)
	}
	ts.mustJSON(t, "POST", "/v1/secret/data/app", root, `{"data":{"user":"bob","n":12345678901234567890}}`, 200, nil)

	tests := []struct {
		name, method, path, token, body string
		want                            int
		check                           func(t *testing.T, r result)
	}{
		{"read latest", "GET", "/v1/secret/data/app", root, "", 200, func(t *testing.T, r result) {
			var e kvEnvelope
			r.json(t, &e)
			if e.Data.Data["user"] != "bob" || e.Data.Metadata.Version != 2 {
				t.Errorf("read = %s", r.body)
			}
			if !strings.Contains(string(r.body), `"n":12345678901234567890`) {
				t.Errorf("large integer not preserved: %s", r.body)
			}
		}},
		{"read version from query", "GET", "/v1/secret/data/app?version=1", root, "", 200, func(t *testing.T, r result) {
			var e kvEnvelope
			r.json(t, &e)
			if e.Data.Data["user"] != "alice" || e.Data.Metadata.Version != 1 {
				t.Errorf("read v1 = %s", r.body)
			}
		}},
		{"LIST method", "LIST", "/v1/secret/metadata", root, "", 200, func(t *testing.T, r result) {
			var e kvEnvelope
			r.json(t, &e)
			if !slices.Equal(e.Data.Keys, []string{"app"}) {
				t.Errorf("keys = %s", r.body)
			}
		}},
		{"list query", "GET", "/v1/secret/metadata/?list=true", root, "", 200, nil},
		{"empty list", "LIST", "/v1/secret/metadata/nothing-here", root, "", 404, func(t *testing.T, r result) {
			if string(r.body) != "{\"errors\":[]}\n" {
				t.Errorf("body = %q", r.body)
			}
		}},
		{"read missing", "GET", "/v1/secret/data/missing", root, "", 404, func(t *testing.T, r result) {
			if errs := r.errorsOf(t); len(errs) != 0 {
				t.Errorf("errors = %q", errs)
			}
		}},
		{"bad list flag", "GET", "/v1/secret/metadata?list=maybe", root, "", 400, nil},
		{"bearer token", "GET", "/v1/secret/data/app", "", "", 200, nil},
		{"no token", "GET", "/v1/secret/data/app", "-", "", 403, func(t *testing.T, r result) {
			if errs := r.errorsOf(t); !slices.Equal(errs, []string{"permission denied"}) {
				t.Errorf("errors = %q", errs)
			}
		}},
		{"bad token", "GET", "/v1/secret/data/app", "s.bogus", "", 403, nil},
		{"malformed json", "PUT", "/v1/secret/data/app", root, `{"data":`, 400, func(t *testing.T, r result) {
			if errs := r.errorsOf(t); !slices.Equal(errs, []string{"error parsing JSON"}) {
				t.Errorf("errors = %q", errs)
			}
		}},
		{"json array body", "PUT", "/v1/secret/data/app", root, `[1,2]`, 400, nil},
		{"trailing garbage", "PUT", "/v1/secret/data/app", root, `{"data":{}} x`, 400, nil},
		{"unmounted path", "GET", "/v1/nomount/x", root, "", 404, func(t *testing.T, r result) {
			if errs := r.errorsOf(t); len(errs) != 1 {
				t.Errorf("errors = %q", errs)
			}
		}},
		{"outside /v1", "GET", "/v2/secret/data/app", root, "", 404, func(t *testing.T, r result) {
			if string(r.body) != "{\"errors\":[]}\n" {
				t.Errorf("body = %q", r.body)
			}
		}},
		{"unknown method", "COPY", "/v1/secret/data/app", root, "", 405, func(t *testing.T, r result) {
			r.errorsOf(t)
		}},
		{"patch", "PATCH", "/v1/secret/data/app", root, `{"data":{"extra":"x"}}`, 200, nil},
		{"mount list via logical", "GET", "/v1/sys/mounts", root, "", 200, func(t *testing.T, r result) {
			if !strings.Contains(string(r.body), `"secret/":{`) || !strings.Contains(string(r.body), `"mount_type":"system"`) {
				t.Errorf("sys/mounts = %s", r.body)
			}
		}},
		{"ui mounts preflight", "GET", "/v1/sys/internal/ui/mounts/secret/app", root, "", 200, nil},
		{"key status", "GET", "/v1/sys/key-status", root, "", 200, nil},
		{"rotate", "PUT", "/v1/sys/rotate", root, "", 204, nil},
		{"token lookup-self", "GET", "/v1/auth/token/lookup-self", root, "", 200, nil},
		{"delete", "DELETE", "/v1/secret/data/app", root, "", 204, func(t *testing.T, r result) {
			if len(r.body) != 0 {
				t.Errorf("204 body = %q", r.body)
			}
		}},
		{"read deleted", "GET", "/v1/secret/data/app", root, "", 404, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rd io.Reader
			if tc.body != "" {
				rd = strings.NewReader(tc.body)
			}
			req, err := http.NewRequestWithContext(context.Background(), tc.method, ts.url+tc.path, rd)
			if err != nil {
				t.Fatal(err)
			}
			switch tc.token {
			case "":
				req.Header.Set("Authorization", "Bearer "+root)
			case "-":
			default:
				req.Header.Set("X-Vault-Token", tc.token)
			}
			resp, err := ts.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			r := result{status: resp.StatusCode, header: resp.Header, body: raw}
			if r.status != tc.want {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.want)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestRequestSizeLimit(t *testing.T) {
	ts := newTestServer(t, api.Options{MaxRequestSize: 1024})
	open, root := unsealedWith(t, api.Options{MaxRequestSize: 1024})
	big := `{"data":{"v":"` + strings.Repeat("x", 2048) + `"}}`
	small := `{"secret_shares":1,"secret_threshold":1}`
	tests := []struct {
		name    string
		srv     *testServer
		path    string
		body    string
		chunked bool
		want    int
	}{
		{"content-length over limit", ts, "/v1/secret/data/x", big, false, 413},
		{"chunked over limit, logical", open, "/v1/secret/data/x", big, true, 413},
		{"chunked over limit, sealed: refused unread", ts, "/v1/secret/data/x", big, true, 503},
		{"chunked over limit, sys", ts, "/v1/sys/init", `{"pgp_keys":["` + strings.Repeat("k", 2048) + `"]}`, true, 413},
		{"under limit", ts, "/v1/sys/init", small, true, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			req, err := http.NewRequestWithContext(context.Background(), "PUT", tc.srv.url+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Vault-Token", root)
			resp, err := tc.srv.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d %s, want %d", resp.StatusCode, raw, tc.want)
			}
			if tc.want == 413 && !strings.Contains(string(raw), `"errors":["http: request body too large"]`) {
				t.Errorf("body = %s", raw)
			}
		})
	}
}
