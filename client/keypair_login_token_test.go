package client_test

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/client"
)

// TestKeypairLoginSendsNoToken checks that, as with Login, neither the
// nonce request nor the login presents the client's own token.
func TestKeypairLoginSendsNoToken(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k := &keypairServer{t: t, mount: "keypair", pub: pub, nonce: "n1", loginStatus: http.StatusOK}
	var mu sync.Mutex
	var tokens []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokens = append(tokens, r.Header.Get("X-Vault-Token"))
		mu.Unlock()
		k.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(client.WithEnv(envOf(nil)), client.WithAddress(srv.URL), client.WithToken("s.caller"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.KeypairLogin(context.Background(), "keypair", "alice", priv)
	if err != nil || tok != "s.new" {
		t.Fatalf("KeypairLogin = %q, %v", tok, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tokens) != 2 || tokens[0] != "" || tokens[1] != "" {
		t.Fatalf("tokens sent %q, want none on both requests", tokens)
	}
	if c.ClientToken() != "s.caller" {
		t.Fatalf("client token is now %q", c.ClientToken())
	}
}
