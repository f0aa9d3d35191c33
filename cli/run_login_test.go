package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const loginAnswer = `{"request_id":"r","auth":{"client_token":"s.alice","accessor":"acc-a","policies":["default","dev"],` +
	`"token_policies":["default","dev"],"identity_policies":[],"metadata":{"username":"alice"},"lease_duration":3600,"renewable":true,"entity_id":"ent-1"}}`

const loginNote = "The token was not stored: vaultctl has no token helper."

// loginEnv has no VAULT_TOKEN: logins must work without one.
var loginEnv = map[string]string{"VAULT_TOKEN": ""}

func TestRunLogin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jwtFile := filepath.Join(dir, "jwt")
	if err := os.WriteFile(jwtFile, []byte("eyJhbGc.eyJzdWI.sig"), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup := `{"data":{"accessor":"acc-t","id":"s.given","policies":["default","ops"],"identity_policies":["team"],` +
		`"meta":{"who":"ci"},"ttl":1800,"renewable":false,"entity_id":"","type":"service"}}`
	runCases(t, []runCase{
		{name: "login userpass", args: []string{"login", "-method=userpass", "username=alice", "password=pw"}, env: loginEnv,
			routes: map[string]reply{"POST /v1/auth/userpass/login/alice": {200, loginAnswer}}, golden: true, stderr: loginNote,
			requests: []string{`POST /v1/auth/userpass/login/alice {"password":"pw"}`}},
		{name: "login userpass password from stdin", args: []string{"login", "-method=userpass", "-path=people", "-token-only", "username=alice"},
			env: loginEnv, stdin: "s3cret\n", routes: map[string]reply{"POST /v1/auth/people/login/alice": {200, loginAnswer}},
			stdout: "s.alice\n", requests: []string{`POST /v1/auth/people/login/alice {"password":"s3cret"}`}},
		{name: "login approle json", args: []string{"login", "-format=json", "-method=approle", "-path=auth/ci/", "role_id=r1", "secret_id=-"},
			env: loginEnv, stdin: "sid-1", routes: map[string]reply{"POST /v1/auth/ci/login": {200, loginAnswer}}, golden: true,
			stderr: loginNote, requests: []string{`POST /v1/auth/ci/login {"role_id":"r1","secret_id":"sid-1"}`}},
		{name: "login jwt from file", args: []string{"login", "-method=jwt", "-field=token_policies", "role=builder", "jwt=@" + jwtFile},
			env: loginEnv, routes: map[string]reply{"POST /v1/auth/jwt/login": {200, loginAnswer}}, stdout: "[\"default\",\"dev\"]\n",
			requests: []string{`POST /v1/auth/jwt/login {"jwt":"eyJhbGc.eyJzdWI.sig","role":"builder"}`}},
		{name: "login token argument", args: []string{"login", "s.given"}, env: loginEnv,
			routes: map[string]reply{"GET /v1/auth/token/lookup-self": {200, lookup}}, golden: true, stderr: loginNote,
			requests: []string{"GET /v1/auth/token/lookup-self"}},
		{name: "login token stdin", args: []string{"login", "-token-only"}, env: loginEnv, stdin: "s.given\n",
			routes: map[string]reply{"GET /v1/auth/token/lookup-self": {200, lookup}}, stdout: "s.given\n"},
		{name: "login bad token", args: []string{"login", "token=s.bad"}, env: loginEnv,
			routes: map[string]reply{"GET /v1/auth/token/lookup-self": {403, `{"errors":["permission denied"]}`}},
			code:   1, stderr: "Error: authenticating: token lookup-self: client: GET /v1/auth/token/lookup-self: 403 Forbidden: permission denied\n"},
		{name: "login refused", args: []string{"login", "-method=userpass", "username=alice", "password=wrong-pw"}, env: loginEnv,
			routes: map[string]reply{"POST /v1/auth/userpass/login/alice": {400, `{"errors":["invalid username or password"]}`}},
			code:   1, stderr: "Error: authenticating: login at auth/userpass: client: POST /v1/auth/userpass/login/alice: 400 Bad Request: invalid username or password\n"},
		{name: "login unknown method", args: []string{"login", "-method=ldap", "username=a"}, env: loginEnv, code: 2,
			stderr: `unknown auth method "ldap"`, requests: []string{}},
		{name: "login unknown key", args: []string{"login", "-method=approle", "role=x"}, env: loginEnv, code: 2,
			stderr: `-method=approle takes role_id, secret_id, not "role"`, requests: []string{}},
		{name: "login userpass needs username", args: []string{"login", "-method=userpass", "password=x"}, env: loginEnv, code: 2,
			stderr: "needs username=NAME", requests: []string{}},
		{name: "login approle needs role id", args: []string{"login", "-method=approle"}, env: loginEnv, code: 2,
			stderr: "needs role_id=ID", requests: []string{}},
		{name: "login jwt needs jwt", args: []string{"login", "-method=jwt", "role=r"}, env: loginEnv, code: 2,
			stderr: "needs jwt=TOKEN", requests: []string{}},
		{name: "login cert needs a certificate", args: []string{"login", "-method=cert"}, env: loginEnv, code: 2,
			stderr: "-client-cert and -client-key", requests: []string{}},
		{name: "login cannot store", args: []string{"login", "-no-store=false", "s.x"}, env: loginEnv, code: 2,
			stderr: "cannot store the token", requests: []string{}},
		{name: "login no password on stdin", args: []string{"login", "-method=userpass", "username=alice"}, env: loginEnv, code: 2,
			stderr: "no password given", requests: []string{}},
	})
}

// TestRunLoginSendsNoToken checks that a login never presents the token
// of the environment, while a token login presents the one it checks.
func TestRunLoginSendsNoToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"userpass", []string{"login", "-method=userpass", "username=alice", "password=pw"}, ""},
		{"token", []string{"login", "s.given"}, "s.given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &scripted{routes: map[string]reply{"POST /v1/auth/userpass/login/alice": {200, loginAnswer},
				"GET /v1/auth/token/lookup-self": {200, `{"data":{"id":"s.given","policies":["default"]}}`}}}
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			env := map[string]string{"VAULT_ADDR": hs.URL, "VAULT_TOKEN": "s.envtoken"}
			var stderr bytes.Buffer
			code := Run(context.Background(), tt.args, strings.NewReader(""), &bytes.Buffer{}, &stderr,
				func(k string) string { return env[k] })
			if code != 0 || len(srv.tokens) != 1 || srv.tokens[0] != tt.want {
				t.Fatalf("code %d, tokens %q (want %q), stderr %q", code, srv.tokens, tt.want, stderr.String())
			}
		})
	}
}

// TestRunLoginCert logs in over mutual TLS and checks the server saw the
// client certificate given by -client-cert, and trusted the server by
// VAULT_CACERT.
func TestRunLoginCert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := writeClientCert(t, dir, "web-client")
	var mu sync.Mutex
	var seen []string
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		cn := ""
		if len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+canonicalJSON(b.Bytes())+" cn="+cn+" token="+r.Header.Get("X-Vault-Token"))
		_, _ = w.Write([]byte(loginAnswer))
	}))
	hs.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS12}
	hs.StartTLS()
	t.Cleanup(hs.Close)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VAULT_ADDR": hs.URL, "VAULT_CACERT": caFile, "VAULT_TOKEN": "s.envtoken", "VAULT_CLIENT_KEY": keyFile}
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"login", "-method=cert", "-client-cert", certFile, "-token-only", "name=web"},
		nil, &stdout, &stderr, func(k string) string { return env[k] })
	if code != 0 || stdout.String() != "s.alice\n" {
		t.Fatalf("code %d stdout %q stderr %q", code, stdout.String(), stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	want := `POST /v1/auth/cert/login {"name":"web"} cn=web-client token=`
	if len(seen) != 1 || seen[0] != want {
		t.Fatalf("server saw %q, want %q", seen, want)
	}
}

// writeClientCert writes a self-signed client certificate and its key.
func writeClientCert(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestRunAuthMethods(t *testing.T) {
	t.Parallel()
	table := `{"request_id":"r","data":{"token/":{"type":"token","accessor":"auth_token_1","description":"token based credentials","config":{"default_lease_ttl":0,"max_lease_ttl":0}},` +
		`"people/":{"type":"userpass","accessor":"auth_userpass_2","description":"staff","config":{"default_lease_ttl":3600,"max_lease_ttl":0}}}}`
	runCases(t, []runCase{
		{name: "auth enable", args: []string{"auth", "enable", "-path=people", "-description=staff", "-default-lease-ttl=1h", "userpass"},
			routes: map[string]reply{"POST /v1/sys/auth/people": {204, ""}}, stdout: "Success! Enabled userpass auth method at: people/\n",
			requests: []string{`POST /v1/sys/auth/people {"config":{"default_lease_ttl":"1h"},"description":"staff","type":"userpass"}`}},
		{name: "auth enable default path options", args: []string{"auth", "enable", "-options=k=v", "approle"},
			routes: map[string]reply{"POST /v1/sys/auth/approle": {204, ""}}, stdout: "Success! Enabled approle auth method at: approle/\n",
			requests: []string{`POST /v1/sys/auth/approle {"config":{},"options":{"k":"v"},"type":"approle"}`}},
		{name: "auth enable bad ttl", args: []string{"auth", "enable", "-max-lease-ttl=x", "jwt"}, code: 2, stderr: "not a duration",
			requests: []string{}},
		{name: "auth enable bad path", args: []string{"auth", "enable", "-path=a//b", "jwt"}, code: 2, stderr: "invalid mount path",
			requests: []string{}},
		{name: "auth enable taken", args: []string{"auth", "enable", "userpass"},
			routes: map[string]reply{"POST /v1/sys/auth/userpass": {400, `{"errors":["path is already in use at userpass/"]}`}},
			code:   1, stderr: "path is already in use"},
		{name: "auth disable", args: []string{"auth", "disable", "auth/people/"},
			routes: map[string]reply{"DELETE /v1/sys/auth/people": {204, ""}},
			stdout: "Success! Disabled the auth method (if it existed) at: people/\n", requests: []string{"DELETE /v1/sys/auth/people"}},
		{name: "auth list", args: []string{"auth", "list"}, routes: map[string]reply{"GET /v1/sys/auth": {200, table}}, golden: true},
		{name: "auth list detailed json", args: []string{"auth", "list", "-detailed", "-format=json"},
			routes: map[string]reply{"GET /v1/sys/auth": {200, table}}, golden: true},
	})
}
