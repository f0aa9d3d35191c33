package e2e

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
	"golang.org/x/crypto/ssh"
)

// sshKeygenEd25519 makes a key pair with the real ssh-keygen and returns
// the .pub line, ssh-keygen's SHA256 fingerprint and the private key
// read from ssh-keygen's file.
func sshKeygenEd25519(t *testing.T) (pubLine, fingerprint string, priv ed25519.PrivateKey) {
	t.Helper()
	bin, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatal("this test needs ssh-keygen (.ci/run installs it: apt-get install openssh-client)")
	}
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command(bin, "-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(keyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-l", "-E", "sha256", "-f", keyFile+".pub").Output()
	if err != nil {
		t.Fatalf("ssh-keygen -l: %v", err)
	}
	fields := strings.Fields(string(out)) // "256 SHA256:... alice@laptop (ED25519)"
	if len(fields) < 2 {
		t.Fatalf("ssh-keygen -l printed %q", out)
	}
	pemBytes, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		t.Fatalf("parse ssh-keygen's private key: %v", err)
	}
	switch k := raw.(type) {
	case *ed25519.PrivateKey:
		priv = *k
	case ed25519.PrivateKey:
		priv = k
	default:
		t.Fatalf("ssh-keygen's key parsed as %T, want ed25519", raw)
	}
	return strings.TrimSpace(string(pub)), fields[1], priv
}

// keypairLoginBody asks s for a nonce for name and returns a login body
// signed with priv at the current time, built by hand (raw HTTP).
func keypairLoginBody(t *testing.T, s *server, name string, priv ed25519.PrivateKey) map[string]string {
	t.Helper()
	status, out := postJSONTo(t, http.DefaultClient, s.url()+"/v1/auth/keypair/nonce", map[string]string{"name": name})
	data, _ := out["data"].(map[string]any)
	nonce, _ := data["nonce"].(string)
	if status != http.StatusOK || nonce == "" || data["expires_at"] == nil {
		t.Fatalf("nonce: status %d answer %v", status, out)
	}
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	sig := ed25519.Sign(priv, client.KeypairLoginMessage("auth/keypair/", name, nonce, ts))
	return map[string]string{"name": name, "nonce": nonce, "timestamp": ts, "signature": base64.StdEncoding.EncodeToString(sig)}
}

// keypairLoginToken posts body to the login path and returns the status
// and the client token of the answer ("" when none).
func keypairLoginToken(t *testing.T, s *server, body map[string]string) (int, string) {
	t.Helper()
	status, out := postJSONTo(t, http.DefaultClient, s.url()+"/v1/auth/keypair/login", body)
	auth, _ := out["auth"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	return status, tok
}

// TestLoginKeypair registers a key made by the real ssh-keygen, logs in
// with the Go SDK (private key read from ssh-keygen's file), checks the
// token and its User entity; then by hand over raw HTTP: a signed login
// works once and its exact replay is refused, a signature by another key
// is refused, and with nonce_ttl 1s a nonce used after 1.5s is refused.
func TestLoginKeypair(t *testing.T) {
	s, root, _ := loginServer(t)
	pubLine, fingerprint, priv := sshKeygenEd25519(t)
	writeOK(t, root, "sys/auth/keypair", map[string]any{"type": "keypair"})
	writeOK(t, root, "auth/keypair/keys/alice", map[string]any{"public_key": pubLine, "token_policies": []string{"dev"}})
	key := readOK(t, root, "auth/keypair/keys/alice").Data
	if want := strings.Join(strings.Fields(pubLine)[:2], " "); key["fingerprint"] != fingerprint || key["public_key"] != want {
		t.Errorf("keys/alice: fingerprint %v public_key %v, want ssh-keygen's %s and %s", key["fingerprint"], key["public_key"], fingerprint, want)
	}

	sdk, err := client.New(client.WithAddress(s.url()), client.WithToken(""), client.WithEnv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	token, err := sdk.KeypairLogin(context.Background(), "keypair", "alice", priv)
	if err != nil || token == "" {
		t.Fatalf("SDK keypair login: token present %v, %v", token != "", err)
	}
	self := readOK(t, s.client(token), "auth/token/lookup-self").Data
	entityID, _ := self["entity_id"].(string)
	if got := stringList(self["policies"]); !slices.Equal(got, []string{"default", "dev"}) || entityID == "" {
		t.Fatalf("lookup-self: policies %v entity_id %q, want [default dev] and an entity", got, entityID)
	}
	checkEntity(t, s, root, token, entityID, "alice", "User")

	// By hand: the first use of a signed nonce logs in, its replay fails.
	body := keypairLoginBody(t, s, "alice", priv)
	if status, tok := keypairLoginToken(t, s, body); status != http.StatusOK || tok == "" {
		t.Fatalf("hand-made login: status %d token present %v, want 200 and a token", status, tok != "")
	}
	if status, tok := keypairLoginToken(t, s, body); status != http.StatusForbidden || tok != "" {
		t.Errorf("replayed login: status %d token present %v, want 403 and no token", status, tok != "")
	}
	// A signature by a key other than the registered one.
	_, other, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := keypairLoginToken(t, s, keypairLoginBody(t, s, "alice", other)); status != http.StatusForbidden {
		t.Errorf("login signed by another key: status %d, want 403", status)
	}

	// Nonces expire after nonce_ttl.
	writeOK(t, root, "auth/keypair/config", map[string]any{"nonce_ttl": "1s"})
	if cfg := readOK(t, root, "auth/keypair/config").Data; cfg["nonce_ttl"] != json.Number("1") {
		t.Fatalf("config nonce_ttl = %v, want 1", cfg["nonce_ttl"])
	}
	if status, tok := keypairLoginToken(t, s, keypairLoginBody(t, s, "alice", priv)); status != http.StatusOK || tok == "" {
		t.Fatalf("login within nonce_ttl 1s: status %d, want 200", status)
	}
	status, out := postJSONTo(t, http.DefaultClient, s.url()+"/v1/auth/keypair/nonce", map[string]string{"name": "alice"})
	data, _ := out["data"].(map[string]any)
	nonce, _ := data["nonce"].(string)
	if status != http.StatusOK || nonce == "" {
		t.Fatalf("nonce: status %d answer %v", status, out)
	}
	time.Sleep(1500 * time.Millisecond)
	ts := time.Now().UTC().Format(time.RFC3339Nano) // a fresh timestamp: only the nonce is stale
	sig := ed25519.Sign(priv, client.KeypairLoginMessage("auth/keypair/", "alice", nonce, ts))
	expired := map[string]string{"name": "alice", "nonce": nonce, "timestamp": ts, "signature": base64.StdEncoding.EncodeToString(sig)}
	if status, tok := keypairLoginToken(t, s, expired); status != http.StatusForbidden || tok != "" {
		t.Errorf("login with an expired nonce: status %d token present %v, want 403", status, tok != "")
	}
}
