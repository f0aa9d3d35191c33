package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ageKey makes an age identity file with age-keygen and returns its path
// and public key.
func ageKey(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	keygen := requireTool(t, "age-keygen")
	path := filepath.Join(dir, name)
	if out, err := exec.Command(keygen, "-o", path).CombinedOutput(); err != nil {
		t.Fatalf("age-keygen: %v: %s", err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pub := regexp.MustCompile(`age1[0-9a-z]+`).FindString(string(b))
	if pub == "" {
		t.Fatalf("no public key in %s", path)
	}
	return path, pub
}

// sopsEncrypt encrypts plain (named name, whose extension gives the
// format) for the age recipient with the sops CLI and returns the path of
// the encrypted file.
func sopsEncrypt(t *testing.T, dir, name, plain, recipient string) string {
	t.Helper()
	sops := requireTool(t, "sops")
	src := filepath.Join(dir, "plain-"+name)
	if err := os.WriteFile(src, []byte(plain), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sops, "--encrypt", "--age", recipient, src)
	cmd.Env = append(os.Environ(), "SOPS_AGE_KEY_FILE=/nonexistent")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sops --encrypt: %v", err)
	}
	if strings.Contains(string(out), "hunter2") {
		t.Fatalf("sops output holds the cleartext: %s", out)
	}
	dst := filepath.Join(dir, name)
	if err := os.WriteFile(dst, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestRunSecretsMigrateSOPS imports SOPS files made by the sops CLI for
// an age key: YAML with nested maps and lists, and JSON; existing names
// are skipped unless -force; the wrong key imports nothing. Not
// parallel: SOPS reads its age key from the process environment.
func TestRunSecretsMigrateSOPS(t *testing.T) {
	dir := t.TempDir()
	keyFile, pub := ageKey(t, dir, "keys.txt")
	otherKey, _ := ageKey(t, dir, "other.txt")
	yml := sopsEncrypt(t, dir, "app.enc.yaml", "db:\n  password: hunter2\n  port: 5432\napi_key: k-1\nhosts: [a, b]\n", pub)
	jsn := sopsEncrypt(t, dir, "svc.enc.json", `{"token": "hunter2-json", "nested": {"x": true}}`, pub)
	v := startCredstashVault(t)

	t.Setenv("SOPS_AGE_KEY_FILE", otherKey)
	v.fails("decrypting", "secrets", "migrate", "--from-sops", yml)
	if out := v.run(0, "", "secrets", "getall"); strings.TrimSpace(out) != "{}" {
		t.Fatalf("a failed migration wrote %s", out)
	}

	t.Setenv("SOPS_AGE_KEY_FILE", keyFile)
	var res migrateResult
	out := v.run(0, "", "-format=json", "secrets", "migrate", "--from-sops", yml, "-prefix", "app")
	if err := json.Unmarshal([]byte(out), &res); err != nil || strings.Join(res.Imported, ",") != "app/api_key,app/db/password,app/db/port,app/hosts" {
		t.Fatalf("migrate = %q (%v)", out, err)
	}
	want := map[string]string{"app/api_key": "k-1", "app/db/password": "hunter2", "app/db/port": "5432", "app/hosts": `["a","b"]`}
	var got map[string]string
	if err := json.Unmarshal([]byte(v.run(0, "", "secrets", "getall", "app")), &got); err != nil || len(got) != len(want) {
		t.Fatalf("getall app = %v (%v)", got, err)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}

	v.run(0, "", "secrets", "put", "token", "kept")
	out = v.run(0, "", "secrets", "migrate", "--from-sops", jsn)
	if !strings.Contains(out, "Imported 1 secret(s)") || !strings.Contains(out, "Skipped token: exists") {
		t.Fatalf("migrate json = %q", out)
	}
	if got := v.run(0, "", "secrets", "get", "token", "-n"); got != "kept" {
		t.Fatalf("existing name overwritten: %q", got)
	}
	v.run(0, "", "secrets", "migrate", "--from-sops", jsn, "-force")
	if got := v.run(0, "", "secrets", "get", "token", "-n"); got != "hunter2-json" {
		t.Fatalf("-force: %q", got)
	}
	if got := v.run(0, "", "secrets", "get", "nested/x", "-n"); got != "true" {
		t.Fatalf("nested/x = %q", got)
	}
	if code, _, errOut := v.runFull("", "secrets", "migrate"); code != ExitUsage || !strings.Contains(errOut, "--from-sops") {
		t.Fatalf("no file: %d %q", code, errOut)
	}
}
