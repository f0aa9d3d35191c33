package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVaultctl drives a real vaultd with the real vaultctl binary: the
// README's operator flow, kv commands and the credstash-style verbs.
func TestVaultctl(t *testing.T) {
	s := newServer(t)
	run := func(token, stdin string, wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := s.vaultctl(token, stdin, args...)
		if code != wantCode {
			t.Fatalf("vaultctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		if token != "" && strings.Contains(errOut, token) {
			t.Fatalf("vaultctl %s printed the token on stderr", strings.Join(args, " "))
		}
		return out
	}
	out := run("", "", 0, "operator", "init", "-key-shares=5", "-key-threshold=3", "-format=json")
	var init struct {
		KeysB64 []string `json:"unseal_keys_b64"`
		KeysHex []string `json:"unseal_keys_hex"`
		Root    string   `json:"root_token"`
	}
	if err := json.Unmarshal([]byte(out), &init); err != nil || len(init.KeysB64) != 5 || init.Root == "" {
		t.Fatalf("init output %q: %v", out, err)
	}
	run("", "", 2, "status") // sealed: exit 2 as Vault's CLI
	run("", "", 0, "operator", "unseal", init.KeysB64[0])
	run("", init.KeysHex[3]+"\n", 0, "operator", "unseal")
	run("", "", 0, "operator", "unseal", init.KeysB64[1])
	if out := run("", "", 0, "status", "-format=json"); !strings.Contains(out, `"sealed": false`) {
		t.Fatalf("status after unseal: %s", out)
	}
	root := init.Root
	run(root, "", 0, "secrets", "enable", "-path=secret", "kv-v2")
	if out := run(root, "", 0, "secrets", "list"); !strings.Contains(out, "secret/") {
		t.Fatalf("secrets list: %s", out)
	}
	run(root, "", 0, "kv", "put", "secret/app/db", "password=hunter2")
	run(root, "", 0, "kv", "put", "-cas=1", "secret/app/db", "password=hunter3")
	run(root, "", 1, "kv", "put", "-cas=1", "secret/app/db", "password=stale")
	var got struct {
		Data struct {
			Data     map[string]string `json:"data"`
			Metadata struct {
				Version int `json:"version"`
			} `json:"metadata"`
		} `json:"data"`
	}
	out = run(root, "", 0, "kv", "get", "-format=json", "secret/app/db")
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Data.Data["password"] != "hunter3" || got.Data.Metadata.Version != 2 {
		t.Fatalf("kv get: %s (%v)", out, err)
	}
	if out := run(root, "", 0, "kv", "get", "-version=1", "-field=password", "secret/app/db"); strings.TrimSpace(out) != "hunter2" {
		t.Fatalf("kv get -version=1 -field: %q", out)
	}

	// credstash-style verbs, including @file and -n for $(...).
	pw := filepath.Join(t.TempDir(), "pw.txt")
	if err := os.WriteFile(pw, []byte("from-a-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(root, "", 0, "secrets", "put", "app/db.password", "@"+pw)
	run(root, "", 0, "secrets", "put", "app/db.password", "second")
	if out := run(root, "", 0, "secrets", "get", "-n", "app/db.password"); out != "second" {
		t.Fatalf("secrets get -n = %q", out)
	}
	if out := run(root, "", 0, "secrets", "get", "-n", "-v", "1", "app/db.password"); out != "from-a-file" {
		t.Fatalf("secrets get -v 1 = %q", out)
	}
	if out := run(root, "", 0, "secrets", "getall", "-f", "csv", "app/"); !strings.Contains(out, "app/db.password,second") {
		t.Fatalf("getall csv = %q", out)
	}
	run(root, "", 0, "secrets", "delete", "app/db.password")
	run(root, "", 1, "secrets", "get", "app/db.password")

	tok := strings.TrimSpace(run(root, "", 0, "token", "create", "-ttl=1h", "-field=token"))
	if out := run(tok, "", 0, "token", "lookup"); !strings.Contains(out, "ttl") {
		t.Fatalf("token lookup: %s", out)
	}
	run(root, "", 0, "token", "revoke", tok)
	run(root, "", 0, "operator", "seal")
	run("", "", 2, "status")
}
