package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// testServer is a real core over inmem storage behind the real handler,
// served by an httptest server that speaks HTTP/1.1 and h2c.
type testServer struct {
	core   *core.Core
	api    *api.Server
	http   *httptest.Server
	url    string
	client *http.Client
	logs   *bytes.Buffer
}

func newTestServer(t testing.TB, opts api.Options) *testServer {
	t.Helper()
	c, err := core.New(core.Config{Physical: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	s := api.New(c, opts)
	hs := httptest.NewUnstartedServer(s.Handler())
	hs.Config.Protocols = new(http.Protocols)
	hs.Config.Protocols.SetHTTP1(true)
	hs.Config.Protocols.SetUnencryptedHTTP2(true)
	hs.Start()
	t.Cleanup(hs.Close)
	return &testServer{core: c, api: s, http: hs, url: hs.URL, client: hs.Client(), logs: logs}
}

// unsealed returns a server initialised with 3 shares (threshold 2),
// unsealed, with kv v2 mounted at secret/, and its root token.
func unsealed(t testing.TB) (*testServer, string) {
	t.Helper()
	return unsealedWith(t, api.Options{})
}

// unsealedWith is unsealed with the given options.
func unsealedWith(t testing.TB, opts api.Options) (*testServer, string) {
	t.Helper()
	ts := newTestServer(t, opts)
	var init struct {
		Keys      []string `json:"keys"`
		RootToken string   `json:"root_token"`
	}
	ts.mustJSON(t, "PUT", "/v1/sys/init", "", `{"secret_shares":3,"secret_threshold":2}`, 200, &init)
	for _, k := range init.Keys[:2] {
		ts.mustJSON(t, "PUT", "/v1/sys/unseal", "", `{"key":"`+k+`"}`, 200, nil)
	}
	ts.mustJSON(t, "POST", "/v1/sys/mounts/secret", init.RootToken, `{"type":"kv","options":{"version":"2"}}`, 204, nil)
	return ts, init.RootToken
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t testing.TB, into any) {
	t.Helper()
	if err := json.Unmarshal(r.body, into); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// errorsOf decodes a Vault error envelope and fails if the body is not one.
func (r result) errorsOf(t testing.TB) []string {
	t.Helper()
	var env struct {
		Errors *[]string `json:"errors"`
	}
	r.json(t, &env)
	if env.Errors == nil {
		t.Fatalf("body %q has no errors list", r.body)
	}
	return *env.Errors
}

func (ts *testServer) do(t testing.TB, method, path, token, body string) result {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, ts.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: raw}
}

func (ts *testServer) mustJSON(t testing.TB, method, path, token, body string, want int, into any) result {
	t.Helper()
	r := ts.do(t, method, path, token, body)
	if r.status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, want)
	}
	if into != nil {
		r.json(t, into)
	}
	return r
}

// topKeys returns the top-level keys of a JSON object in body order.
func topKeys(t testing.TB, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("body %q is not a JSON object", body)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// quietLogger logs into the test server's buffer.
func quietLogger(ts *testServer) *slog.Logger {
	return slog.New(slog.NewTextHandler(ts.logs, nil))
}
