package client_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// goldenKeypairMessage is the canonical login message of the fields
// below. engines/auth/keypair's message test pins the very same bytes:
// change both together.
const goldenKeypairMessage = "secretumvault-keypair-login-v1\n" +
	"auth/keypair/\n" +
	"alice@example.com\n" +
	"q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k\n" +
	"2025-01-02T03:04:05.123456789Z\n"

func TestKeypairLoginMessageGolden(t *testing.T) {
	t.Parallel()
	const (
		name  = "alice@example.com"
		nonce = "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k"
		ts    = "2025-01-02T03:04:05.123456789Z"
	)
	for _, mount := range []string{"auth/keypair/", "auth/keypair", "/auth/keypair/", "/auth/keypair"} {
		if got := string(client.KeypairLoginMessage(mount, name, nonce, ts)); got != goldenKeypairMessage {
			t.Errorf("KeypairLoginMessage(%q) = %q, want %q", mount, got, goldenKeypairMessage)
		}
	}
}

// keypairServer plays the keypair method at auth/<mount>/: it issues
// nonce, then checks the login's signature with pub over the message it
// builds itself (not with the SDK's function) and answers loginStatus.
type keypairServer struct {
	t           *testing.T
	mount       string
	pub         ed25519.PublicKey
	nonce       string
	loginStatus int

	mu     sync.Mutex
	paths  []string
	logins []map[string]string
}

func (k *keypairServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]string
	if err := json.Unmarshal(raw, &body); err != nil {
		k.t.Errorf("%s %s: body %q is not a JSON object of strings", r.Method, r.URL.Path, raw)
	}
	k.mu.Lock()
	k.paths = append(k.paths, r.Method+" "+r.URL.Path)
	k.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/v1/auth/" + k.mount + "/nonce":
		if r.Header.Get("X-Vault-Token") != "" {
			k.t.Error("the nonce request carries a token")
		}
		fmt.Fprintf(w, `{"request_id":"r1","data":{"nonce":%q,"expires_at":"2030-01-01T00:00:00Z"}}`, k.nonce)
	case "/v1/auth/" + k.mount + "/login":
		k.mu.Lock()
		k.logins = append(k.logins, body)
		k.mu.Unlock()
		msg := "secretumvault-keypair-login-v1\nauth/" + k.mount + "/\n" + body["name"] + "\n" + body["nonce"] + "\n" + body["timestamp"] + "\n"
		sig, err := base64.StdEncoding.DecodeString(body["signature"])
		if err != nil || !ed25519.Verify(k.pub, []byte(msg), sig) || k.loginStatus != http.StatusOK {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"errors":["permission denied: invalid login"]}`)
			return
		}
		io.WriteString(w, `{"request_id":"r2","auth":{"client_token":"s.new","accessor":"a1","policies":["default"]}}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func newKeypairServer(t *testing.T, mount string, pub ed25519.PublicKey, loginStatus int) (*keypairServer, *client.Client) {
	t.Helper()
	k := &keypairServer{t: t, mount: mount, pub: pub, nonce: "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k", loginStatus: loginStatus}
	srv := httptest.NewServer(k)
	t.Cleanup(srv.Close)
	c, err := client.New(client.WithEnv(func(string) string { return "" }), client.WithAddress(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	return k, c
}

func TestKeypairLogin(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, c := newKeypairServer(t, "kp/team", pub, http.StatusOK)
	before := time.Now().Add(-time.Second)
	tok, err := c.KeypairLogin(context.Background(), "/kp/team/", "alice", priv)
	if err != nil || tok != "s.new" {
		t.Fatalf("KeypairLogin = %q, %v; want s.new", tok, err)
	}
	if c.ClientToken() != "" {
		t.Fatal("KeypairLogin replaced the client's token")
	}
	wantPaths := []string{"POST /v1/auth/kp/team/nonce", "POST /v1/auth/kp/team/login"}
	if fmt.Sprint(k.paths) != fmt.Sprint(wantPaths) {
		t.Fatalf("requests = %v, want %v", k.paths, wantPaths)
	}
	login := k.logins[0]
	if login["name"] != "alice" || login["nonce"] != k.nonce || len(login) != 4 {
		t.Fatalf("login body = %v", login)
	}
	ts, err := time.Parse(time.RFC3339, login["timestamp"])
	if err != nil || ts.Before(before) || ts.After(time.Now().Add(time.Second)) {
		t.Fatalf("timestamp %q is not RFC 3339 now: %v", login["timestamp"], err)
	}
}

func TestKeypairLoginErrors(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mount  string
		user   string
		key    ed25519.PrivateKey
		status int
		want   error
		sent   int
	}{
		{"wrong key", "keypair", "alice", other, http.StatusOK, client.ErrPermissionDenied, 2},
		{"refused", "keypair", "alice", priv, http.StatusForbidden, client.ErrPermissionDenied, 2},
		{"no mount", "/", "alice", priv, http.StatusOK, client.ErrInvalidArgument, 0},
		{"no name", "keypair", "", priv, http.StatusOK, client.ErrInvalidArgument, 0},
		{"short key", "keypair", "alice", priv[:32], http.StatusOK, client.ErrInvalidArgument, 0},
		{"nonce path missing", "elsewhere", "alice", priv, http.StatusOK, client.ErrNotFound, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, c := newKeypairServer(t, "keypair", pub, tc.status)
			tok, err := c.KeypairLogin(context.Background(), tc.mount, tc.user, tc.key)
			if tok != "" || !errors.Is(err, tc.want) {
				t.Fatalf("KeypairLogin = %q, %v; want %v", tok, err, tc.want)
			}
			if len(k.paths) != tc.sent {
				t.Fatalf("sent %v, want %d requests", k.paths, tc.sent)
			}
		})
	}
}

func ExampleClient_KeypairLogin() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	// The seed would come from the client's own key store; the server
	// holds only the public key (registered at auth/keypair/keys/ci-runner).
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	tok, err := c.KeypairLogin(ctx, "keypair", "ci-runner", key)
	if err != nil {
		log.Fatal(err)
	}
	c.SetToken(tok)
}
