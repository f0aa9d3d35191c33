package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// realVault is a real core over inmem storage behind the real HTTP
// handler on 127.0.0.1, driven by vaultctl command lines.
type realVault struct {
	t    *testing.T
	url  string
	root string
}

// startRealVault starts a server that allows the audit prefix option,
// initialises and unseals it with "vaultctl operator".
func startRealVault(t *testing.T) *realVault {
	t.Helper()
	c, err := core.New(core.Config{Physical: inmem.New(), Audit: core.AuditConfig{Policy: audit.Policy{AllowPrefix: true}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api.New(c, api.Options{Logger: slog.New(slog.DiscardHandler)}).Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Shutdown(ctx)
		hs.Close()
	})
	v := &realVault{t: t, url: hs.URL}
	out := v.run(0, "", "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json")
	var init struct {
		Keys []string `json:"unseal_keys_b64"`
		Root string   `json:"root_token"`
	}
	if err := json.Unmarshal([]byte(out), &init); err != nil || len(init.Keys) != 1 || init.Root == "" {
		t.Fatalf("operator init: %q (%v)", out, err)
	}
	v.run(0, "", "operator", "unseal", init.Keys[0])
	v.root = init.Root
	return v
}

// run runs vaultctl with the root token (once known) and returns stdout;
// the exit code must be code.
func (v *realVault) run(code int, stdin string, args ...string) string {
	v.t.Helper()
	env := map[string]string{"VAULT_ADDR": v.url, "VAULT_TOKEN": v.root}
	var stdout, stderr bytes.Buffer
	got := Run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr, func(k string) string { return env[k] })
	if got != code {
		v.t.Fatalf("vaultctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, stdout.String(), stderr.String())
	}
	if v.root != "" && strings.Contains(stderr.String()+stdout.String(), v.root) {
		v.t.Fatalf("vaultctl %s printed the root token", strings.Join(args, " "))
	}
	return stdout.String()
}

// TestRunAuditEndToEnd enables a file audit device on a real server,
// makes requests, and checks them through every audit command: list,
// public-key, hash (found in the log), verify, export (the server signs
// the manifest) and verify-bundle, which catches a tampered bundle.
func TestRunAuditEndToEnd(t *testing.T) {
	t.Parallel()
	v := startRealVault(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	v.run(0, "", "audit", "enable", "-description=main log", "file", "file_path="+logPath, "checkpoint_every=5", "prefix=vault: ")
	live := filepath.Join(dir, "live.log") // a second device, checkpointed only at its start: a live log
	v.run(0, "", "audit", "enable", "-path=live", "file", "file_path="+live)
	if out := v.run(0, "", "audit", "list", "-detailed"); !strings.Contains(out, "file/    file    main log") || !strings.Contains(out, "prefix:vault: ") {
		t.Fatalf("audit list -detailed:\n%s", out)
	}
	v.run(0, "", "secrets", "enable", "-path=secret", "kv-v2")
	for i := range 12 {
		v.run(0, "", "kv", "put", "secret/app", "password=SENTINEL-PW-"+itoa(i))
	}
	v.run(0, "permit (principal in Group::\"ops\", action, resource);\n", "policy", "write", "-type=cedar", "ops", "-")
	v.run(0, "path \"secret/data/app\" {\n  capabilities = [\"read\"]\n}\n", "policy", "write", "-type=hcl", "app-read", "-")

	pem := v.run(0, "", "audit", "public-key", "file/")
	keyFile := writeFile(t, dir, "trusted.pem", pem)
	v.run(2, "", "audit", "hash", "file", "-") // nothing on stdin
	hash := v.run(0, "SENTINEL-PW-11\n", "audit", "hash", "file", "-")
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "hmac-sha256:") || !bytes.Contains(log, []byte(`"password":"`+hash+`"`)) || bytes.Contains(log, []byte("SENTINEL-PW")) {
		t.Fatalf("audit hash %q is not the log's HMAC of the value (or the log holds it in the clear)", hash)
	}
	v.run(0, "", "audit", "verify", "-allow-open-tail", "-prefix=vault: ", "-public-key=@"+keyFile, logPath)

	out := filepath.Join(dir, "evidence.zip")
	exported := v.run(0, "", "audit", "export", "-since=1h", "-out="+out, "-public-key-out="+filepath.Join(dir, "exported.pem"), logPath)
	if !strings.HasPrefix(exported, "Success! Wrote "+out+": seq 1..") || !strings.Contains(exported, "manifest signed by file/") {
		t.Fatalf("audit export: %s", exported)
	}
	verified := v.run(0, "", "audit", "verify-bundle", "-public-key=@"+keyFile, out)
	if !strings.HasPrefix(verified, "OK: "+out+": file/ ") || !strings.HasSuffix(verified, "the trusted key\n") {
		t.Fatalf("audit verify-bundle: %s", verified)
	}
	files := zipFiles(t, out)
	for _, name := range []string{"policies/cedar/ops.cedar", "policies/acl/app-read.hcl", "keys/file.pem", "manifest.sig"} {
		if files[name] == "" {
			t.Errorf("the bundle has no %s (files: %v)", name, sortedKeys(files))
		}
	}
	if files["keys/file.pem"] != pem {
		t.Errorf("the bundle's key is not the device's")
	}
	if !strings.Contains(files["logs/audit.log"], `"path":"secret/data/app"`) {
		t.Errorf("the exported log lacks the kv requests")
	}

	// The second device's log runs past its last checkpoint: the export
	// holds those entries, covered by the manifest signature.
	liveOut := filepath.Join(dir, "live.zip")
	exported = v.run(0, "", "audit", "export", "-device=live", "-since=2026-01-01T00:00:00Z", "-until=2100-01-01T00:00:00Z",
		"-out="+liveOut, "-public-key-out="+filepath.Join(dir, "live.pem"), live)
	if !strings.Contains(exported, "entries after the last checkpoint: a live log") || !strings.Contains(exported, "manifest signed by live/") {
		t.Fatalf("audit export of a live log: %s", exported)
	}
	if got := v.run(0, "", "audit", "verify-bundle", "-public-key=@"+filepath.Join(dir, "live.pem"), liveOut); !strings.Contains(got, "entries after the last checkpoint") {
		t.Fatalf("audit verify-bundle of a live log: %s", got)
	}
	v.run(1, "", "audit", "verify-bundle", "-public-key=@"+keyFile, liveOut) // another device's key

	rewriteZip(t, out, flipIn("logs/audit.log"))
	v.run(1, "", "audit", "verify-bundle", "-public-key=@"+keyFile, out)

	v.run(0, "", "audit", "disable", "file/")
	v.run(0, "", "audit", "disable", "live")
	if got := v.run(0, "", "audit", "list"); got != "No audit devices are enabled.\n" {
		t.Fatalf("audit list after disable: %q", got)
	}
	v.run(0, "", "audit", "verify", "-prefix=vault: ", "-public-key=@"+keyFile, logPath) // closed: ends with a close checkpoint
}
