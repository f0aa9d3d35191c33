package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// keypairVault plays the keypair method at auth/<mount>/ and the token
// store: it hands out a nonce, verifies the login's ed25519 signature with
// pub over the canonical message it builds itself, issues s.kp, and
// answers lookup-self for s.kp. It records every request with its token.
type keypairVault struct {
	t     *testing.T
	mount string
	pub   ed25519.PublicKey

	mu   sync.Mutex
	seen []string // "METHOD /path token=T"
}

const keypairNonce = "bm9uY2Utb25l"

func (k *keypairVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	_ = json.NewDecoder(r.Body).Decode(&body)
	tok := r.Header.Get("X-Vault-Token")
	k.mu.Lock()
	k.seen = append(k.seen, r.Method+" "+r.URL.Path+" token="+tok)
	k.mu.Unlock()
	base := "/v1/auth/" + k.mount + "/"
	switch r.Method + " " + r.URL.Path {
	case "POST " + base + "nonce":
		if body["name"] != "ci-runner" {
			http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte(`{"data":{"nonce":"` + keypairNonce + `"}}`))
	case "POST " + base + "login":
		msg := "secretumvault-keypair-login-v1\nauth/" + k.mount + "/\n" + body["name"] + "\n" + body["nonce"] + "\n" + body["timestamp"] + "\n"
		sig, err := base64.StdEncoding.DecodeString(body["signature"])
		if err != nil || body["nonce"] != keypairNonce || !ed25519.Verify(k.pub, []byte(msg), sig) {
			http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte(`{"auth":{"client_token":"s.kp","accessor":"acc-kp","policies":["default"]}}`))
	case "GET /v1/auth/token/lookup-self":
		if tok != "s.kp" {
			http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte(`{"data":{"accessor":"acc-kp","policies":["default","deploy"],"meta":{"name":"ci-runner"},` +
			`"ttl":600,"renewable":true,"type":"service"}}`))
	default:
		http.Error(w, `{"errors":[]}`, http.StatusNotFound)
	}
}

// writeKeyFiles writes key in the formats a keypair login is given:
// OpenSSH (as ssh-keygen writes it), PEM PKCS#8, OpenSSH with a
// passphrase, and an ECDSA key in PEM (the wrong kind).
func writeKeyFiles(t *testing.T, dir string, key ed25519.PrivateKey) map[string]string {
	t.Helper()
	openssh, err := ssh.MarshalPrivateKey(key, "ci-runner")
	if err != nil {
		t.Fatal(err)
	}
	encrypted, err := ssh.MarshalPrivateKeyWithPassphrase(key, "ci-runner", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"openssh":   pem.EncodeToMemory(openssh),
		"pkcs8":     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"encrypted": pem.EncodeToMemory(encrypted),
		"ecdsa":     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}),
		"garbage":   []byte("not a key\n"),
	}
	paths := map[string]string{}
	for name, b := range files {
		paths[name] = filepath.Join(dir, name)
		if err := os.WriteFile(paths[name], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

func TestRunLoginKeypair(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keys := writeKeyFiles(t, dir, priv)
	otherKey := writeKeyFiles(t, t.TempDir(), other)["openssh"]
	loggedIn := []string{"POST /v1/auth/keypair/nonce token=", "POST /v1/auth/keypair/login token=",
		"GET /v1/auth/token/lookup-self token=s.kp"}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // exact; "" with golden
		golden bool
		stderr string // contained
		seen   []string
	}{
		{name: "login keypair", args: []string{"login", "-method=keypair", "name=ci-runner", "key=@" + keys["openssh"]},
			golden: true, stderr: loginNote, seen: loggedIn},
		{name: "pem key token only", args: []string{"login", "-method=keypair", "-token-only", "name=ci-runner", "key=@" + keys["pkcs8"]},
			stdout: "s.kp\n", seen: loggedIn},
		{name: "other mount field", args: []string{"login", "-method=keypair", "-path=auth/robots/", "-field=token_policies",
			"name=ci-runner", "key=@" + keys["openssh"]}, stdout: "[\"default\",\"deploy\"]\n",
			seen: []string{"POST /v1/auth/robots/nonce token=", "POST /v1/auth/robots/login token=",
				"GET /v1/auth/token/lookup-self token=s.kp"}},
		{name: "wrong key refused", args: []string{"login", "-method=keypair", "name=ci-runner", "key=@" + otherKey}, code: 1,
			stderr: "Error: authenticating: keypair login: login at auth/keypair: client: POST /v1/auth/keypair/login: 403 Forbidden",
			seen:   loggedIn[:2]},
		{name: "needs key", args: []string{"login", "-method=keypair", "name=ci-runner"}, code: 2,
			stderr: "-method=keypair needs name=NAME and key=@FILE", seen: []string{}},
		{name: "needs name", args: []string{"login", "-method=keypair", "key=@" + keys["openssh"]}, code: 2,
			stderr: "-method=keypair needs name=NAME", seen: []string{}},
		{name: "encrypted key", args: []string{"login", "-method=keypair", "name=ci-runner", "key=@" + keys["encrypted"]}, code: 2,
			stderr: "passphrase-protected", seen: []string{}},
		{name: "not ed25519", args: []string{"login", "-method=keypair", "name=ci-runner", "key=@" + keys["ecdsa"]}, code: 2,
			stderr: "needs an ed25519 private key, not *ecdsa.PrivateKey", seen: []string{}},
		{name: "not a key", args: []string{"login", "-method=keypair", "name=ci-runner", "key=@" + keys["garbage"]}, code: 2,
			stderr: "not an OpenSSH or PEM private key", seen: []string{}},
		{name: "unknown parameter", args: []string{"login", "-method=keypair", "name=ci-runner", "signature=x"}, code: 2,
			stderr: `-method=keypair takes name, key, not "signature"`, seen: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mount := "keypair"
			if strings.Contains(tt.name, "other mount") {
				mount = "robots"
			}
			kv := &keypairVault{t: t, mount: mount, pub: pub}
			hs := httptest.NewServer(kv)
			t.Cleanup(hs.Close)
			// The environment's token must not be presented by the login.
			env := map[string]string{"VAULT_ADDR": hs.URL, "VAULT_TOKEN": "s.envtoken"}
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if tt.golden {
				checkGolden(t, "run_"+strings.ReplaceAll(tt.name, " ", "_"), stdout.Bytes())
			} else if stdout.String() != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) || (tt.stderr == "" && stderr.Len() > 0) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tt.stderr)
			}
			if strings.Contains(stderr.String(), "PRIVATE KEY") || strings.Contains(stderr.String(), "s.envtoken") {
				t.Errorf("stderr leaks the key or the token: %q", stderr.String())
			}
			kv.mu.Lock()
			defer kv.mu.Unlock()
			if strings.Join(kv.seen, "\n") != strings.Join(tt.seen, "\n") {
				t.Errorf("server saw\n  %q\nwant\n  %q", kv.seen, tt.seen)
			}
		})
	}
}
