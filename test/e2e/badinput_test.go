package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	vault "github.com/openbao/openbao/api/v2"
)

// rawCall sends one HTTP request and returns status and decoded errors.
func rawCall(t *testing.T, s *server, method, path, token string, body io.Reader) (int, []string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Errors []string `json:"errors"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(raw, &out); err != nil || out.Errors == nil {
			t.Errorf("%s %s: status %d body %q is not {\"errors\":[...]}", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out.Errors
}

// TestBadInput sends malformed and hostile requests to a real server and
// checks each gets a clear Vault-style error and changes nothing.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	init := s.initUnseal(5, 3)
	root := init.RootToken
	c := s.client(root)
	if err := c.Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(ctx, "keep", map[string]any{"v": "original"}); err != nil {
		t.Fatal(err)
	}
	huge := bytes.NewReader(append([]byte(`{"data":{"v":"`), append(bytes.Repeat([]byte("a"), 33<<20), []byte(`"}}`)...)...))
	tests := []struct {
		name, method, path, token string
		body                      io.Reader
		want                      int
	}{
		{"malformed json", "PUT", "/v1/secret/data/keep", root, strings.NewReader(`{"data": {`), 400},
		{"json not an object", "PUT", "/v1/secret/data/keep", root, strings.NewReader(`[1,2]`), 400},
		{"wrong field type", "PUT", "/v1/secret/data/keep", root, strings.NewReader(`{"data": "nope"}`), 400},
		{"unknown path", "GET", "/v1/nowhere/at/all", root, nil, 404},
		{"unknown sys path", "GET", "/v1/sys/no-such-thing", root, nil, 404},
		{"wrong method", "PATCH", "/v1/sys/seal-status", root, nil, 405},
		{"oversized body", "PUT", "/v1/secret/data/keep", root, huge, 413},
		{"no token", "GET", "/v1/secret/data/keep", "", nil, 403},
		{"bad token", "GET", "/v1/secret/data/keep", "svs.not-a-real-token", nil, 403},
		{"init twice", "PUT", "/v1/sys/init", "", strings.NewReader(`{"secret_shares":1,"secret_threshold":1}`), 400},
		{"bad unseal key", "PUT", "/v1/sys/unseal", "", strings.NewReader(`{"key":"zz-not-hex"}`), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, errs := rawCall(t, s, tc.method, tc.path, tc.token, tc.body); code != tc.want {
				t.Fatalf("status %d (%q), want %d", code, errs, tc.want)
			}
		})
	}
	// Nothing changed: the value, the seal and the keys are as before.
	got, err := c.KVv2("secret").Get(ctx, "keep")
	if err != nil || got.Data["v"] != "original" || got.VersionMetadata.Version != 1 {
		t.Fatalf("data changed by bad input: %+v, %v", got, err)
	}
	st, err := c.Sys().SealStatus()
	if err != nil || st.Sealed || st.N != 5 || st.T != 3 {
		t.Fatalf("seal status changed: %+v, %v", st, err)
	}
	if s.logs() == "" {
		t.Fatal("server wrote no logs at all")
	}
	for _, secret := range []string{root, "original"} {
		if strings.Contains(s.logs(), secret) {
			t.Fatalf("server log contains a secret (%q)", secret)
		}
	}
}

// TestWrongUnsealKeys seals, feeds shares of another cluster and checks
// the server stays sealed and still unseals with the right keys.
func TestWrongUnsealKeys(t *testing.T) {
	a, b := newServer(t), newServer(t)
	initA := a.initUnseal(3, 2)
	initB := b.initUnseal(3, 2)
	if err := a.client(initA.RootToken).Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	c := a.client("")
	if _, err := c.Sys().Unseal(initB.Keys[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sys().Unseal(initB.Keys[1]); responseStatus(err) != http.StatusBadRequest {
		t.Fatalf("foreign shares: %v", err)
	}
	st, err := c.Sys().SealStatus()
	if err != nil || !st.Sealed || st.Progress != 0 {
		t.Fatalf("after wrong keys: %+v, %v", st, err)
	}
	a.unseal(initA.Keys[1:])
}
