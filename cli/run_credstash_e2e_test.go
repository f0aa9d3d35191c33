package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// runFull runs vaultctl with the root token and returns the exit code,
// stdout and stderr.
func (v *realVault) runFull(stdin string, args ...string) (int, string, string) {
	v.t.Helper()
	env := map[string]string{"VAULT_ADDR": v.url, "VAULT_TOKEN": v.root}
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

// fails runs a command that must exit 1 with wantErr on stderr and
// nothing on stdout; it returns stderr.
func (v *realVault) fails(wantErr string, args ...string) string {
	v.t.Helper()
	code, out, errOut := v.runFull("", args...)
	if code != ExitError || out != "" || !strings.Contains(errOut, wantErr) {
		v.t.Fatalf("vaultctl %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(args, " "), code, out, errOut, wantErr)
	}
	return errOut
}

// startCredstashVault is a real server with kv-v2 at secret/ and transit
// at transit/.
func startCredstashVault(t *testing.T) *realVault {
	v := startRealVault(t)
	v.run(0, "", "secrets", "enable", "-path=secret", "kv-v2")
	v.run(0, "", "secrets", "enable", "transit")
	return v
}

// TestRunCredstashVersions: -a takes the next version atomically, -v N
// stores exactly N and is refused when N exists or is not next.
func TestRunCredstashVersions(t *testing.T) {
	t.Parallel()
	v := startCredstashVault(t)
	version := func(args ...string) int {
		var res putResult
		out := v.run(0, "", append([]string{"secrets", "put", "-format=json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("put output %q: %v", out, err)
		}
		return res.Version
	}
	if got := version("db.pw", "one", "-a"); got != 1 {
		t.Fatalf("first -a stored version %d", got)
	}
	if got := version("db.pw", "two", "-a"); got != 2 {
		t.Fatalf("second -a stored version %d", got)
	}
	if got := version("db.pw", "three", "-v", "3"); got != 3 {
		t.Fatalf("-v 3 stored version %d", got)
	}
	v.fails("version 3 of db.pw already exists (latest is 3)", "secrets", "put", "db.pw", "again", "-v", "3")
	v.fails("version 1 of db.pw already exists", "secrets", "put", "db.pw", "again", "-v", "1")
	v.fails("version 5 of db.pw cannot be stored: the latest is 3", "secrets", "put", "db.pw", "skip", "-v", "5")
	if got := version("fresh", "x", "-v", "1"); got != 1 {
		t.Fatalf("-v 1 of a new name stored version %d", got)
	}
	for ver, want := range map[string]string{"1": "one", "2": "two", "3": "three"} {
		if out := v.run(0, "", "secrets", "get", "db.pw", "-v", ver, "-n"); out != want {
			t.Errorf("get -v %s = %q, want %q", ver, out, want)
		}
	}
	if code, _, errOut := v.runFull("", "secrets", "put", "db.pw", "x", "-a", "-v", "4"); code != ExitUsage || !strings.Contains(errOut, "exclude each other") {
		t.Fatalf("-a with -v: exit %d, %q", code, errOut)
	}
}

// TestRunCredstashContext: a value put with an encryption context is
// stored as transit ciphertext only, and the server gives it back only
// for the same context.
func TestRunCredstashContext(t *testing.T) {
	t.Parallel()
	v := startCredstashVault(t)
	const secret = "s3cr3t-context-value"
	out := v.run(0, "", "secrets", "put", "-format=json", "app.token", secret, "env=prod", "role=web")
	if !strings.Contains(out, `"context_bound": true`) {
		t.Fatalf("put output %q", out)
	}
	if got := v.run(0, "", "secrets", "get", "app.token", "role=web", "env=prod"); got != secret+"\n" {
		t.Fatalf("get with the context in another order = %q", got)
	}
	raw := v.run(0, "", "read", "-format=json", "secret/data/app.token")
	if strings.Contains(raw, secret) || !strings.Contains(raw, `"ciphertext": "vault:v1:`) || !strings.Contains(raw, `"encrypted_with": "transit:transit/credstash"`) {
		t.Fatalf("KV holds %s", raw)
	}
	key := v.run(0, "", "read", "-format=json", "transit/keys/credstash")
	if !strings.Contains(key, `"derived": true`) {
		t.Fatalf("transit key %s", key)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing context", nil, "missing 'context' for key derivation"},
		{"wrong value", []string{"env=dev", "role=web"}, "message authentication failed"},
		{"missing key", []string{"env=prod"}, "message authentication failed"},
		{"extra key", []string{"env=prod", "role=web", "x=y"}, "message authentication failed"},
	} {
		errOut := v.fails(tc.want, append([]string{"secrets", "get", "app.token"}, tc.args...)...)
		if strings.Contains(errOut, secret) || !strings.Contains(errOut, "encryption context refused by the server") {
			t.Errorf("%s: stderr %q", tc.name, errOut)
		}
	}
	v.run(0, "", "secrets", "put", "plain", "p")
	v.fails("was stored without an encryption context", "secrets", "get", "plain", "env=prod")
	// A second put reuses the key; -a works with a context.
	v.run(0, "", "secrets", "put", "app.token", "v2", "env=prod", "role=web", "-a")
	if got := v.run(0, "", "secrets", "get", "app.token", "env=prod", "role=web", "-n"); got != "v2" {
		t.Fatalf("version 2 = %q", got)
	}
	if got := v.run(0, "", "secrets", "get", "app.token", "env=prod", "role=web", "-v", "1", "-n"); got != secret {
		t.Fatalf("version 1 = %q", got)
	}
	// getall: bound secrets only with their context (else skipped with a
	// warning), plain ones always.
	code, all, errOut := v.runFull("", "secrets", "getall")
	if code != 0 || !strings.Contains(all, `"plain": "p"`) || strings.Contains(all, "v2") || !strings.Contains(errOut, "skipping app.token") {
		t.Fatalf("getall without context: %d %q %q", code, all, errOut)
	}
	code, all, _ = v.runFull("", "secrets", "getall", "env=prod", "role=web")
	if code != 0 || !strings.Contains(all, `"app.token": "v2"`) || !strings.Contains(all, `"plain": "p"`) {
		t.Fatalf("getall with context: %d %q", code, all)
	}
}

// TestRunCredstashContextKeyNotDerived: an existing transit key that
// ignores contexts is refused rather than used.
func TestRunCredstashContextKeyNotDerived(t *testing.T) {
	t.Parallel()
	v := startCredstashVault(t)
	v.run(0, "", "write", "-f", "transit/keys/credstash")
	v.fails("is not derived", "secrets", "put", "n", "v", "a=b")
	v.run(0, "", "secrets", "enable", "-path=other-transit", "transit")
	v.run(0, "", "secrets", "put", "n", "v", "a=b", "-transit-mount", "other-transit")
	if got := v.run(0, "", "secrets", "get", "n", "a=b", "-n"); got != "v" {
		t.Fatalf("get from other-transit = %q", got)
	}
	v.fails("secrets enable transit", "secrets", "put", "n2", "v", "a=b", "-transit-mount", "nowhere")
}

// TestRunCredstashPatternAndGetall: 'prefix.*' gives JSON of every match;
// getall speaks json, yaml, csv and dotenv.
func TestRunCredstashPatternAndGetall(t *testing.T) {
	t.Parallel()
	v := startCredstashVault(t)
	for name, value := range map[string]string{"app.db": "pw,1", "app.key": "k\"2", "other": "o", "dir/app.x": "nested"} {
		v.run(0, "", "secrets", "put", name, value)
	}
	var got map[string]string
	out := v.run(0, "", "secrets", "get", "app.*")
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 2 || got["app.db"] != "pw,1" || got["app.key"] != "k\"2" {
		t.Fatalf("get 'app.*' = %q (%v)", out, err)
	}
	out = v.run(0, "", "secrets", "get", "*/app.?")
	got = nil
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 || got["dir/app.x"] != "nested" {
		t.Fatalf("get '*/app.?' = %q", out)
	}
	if out := v.run(0, "", "secrets", "get", "-format=json", "app.db"); out != "{\n  \"name\": \"app.db\",\n  \"value\": \"pw,1\"\n}\n" {
		t.Fatalf("get -format=json = %q", out)
	}
	if out := v.run(0, "", "-format=yaml", "secrets", "get", "app.*"); out != "app.db: pw,1\napp.key: k\"2\n" {
		t.Fatalf("get -format=yaml 'app.*' = %q", out)
	}
	if out := v.run(0, "", "secrets", "get", "none.*"); strings.TrimSpace(out) != "{}" {
		t.Fatalf("no match = %q", out)
	}
	if code, _, errOut := v.runFull("", "secrets", "get", "app.*", "-v", "1"); code != ExitUsage || !strings.Contains(errOut, "pattern") {
		t.Fatalf("-v with a pattern: %d %q", code, errOut)
	}
	if code, _, errOut := v.runFull("", "secrets", "get", "app.[", "-v", "1"); code != ExitUsage {
		t.Fatalf("bad pattern: %d %q", code, errOut)
	}
	wants := map[string]string{
		"csv":    "name,value\napp.db,\"pw,1\"\napp.key,\"k\"\"2\"\ndir/app.x,nested\nother,o\n",
		"dotenv": "APP_DB=\"pw,1\"\nAPP_KEY=\"k\\\"2\"\nDIR_APP_X=\"nested\"\nOTHER=\"o\"\n",
	}
	for f, want := range wants {
		if out := v.run(0, "", "secrets", "getall", "-f", f); out != want {
			t.Errorf("getall -f %s = %q, want %q", f, out, want)
		}
	}
	var y map[string]string
	if err := yaml.Unmarshal([]byte(v.run(0, "", "secrets", "getall", "-f", "yaml", "dir")), &y); err != nil || len(y) != 1 || y["dir/app.x"] != "nested" {
		t.Fatalf("getall -f yaml dir = %v, %v", y, err)
	}
}
