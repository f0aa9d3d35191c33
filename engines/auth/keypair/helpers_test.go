package keypair_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/authtest"
	"github.com/secretumvault/secretumvault/engines/auth/keypair"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// testMount is where the harness mounts the method.
const testMount = "auth/keypair/"

// harness is one keypair mount, built through Factory's path (New) over
// an inmem store seen through a view, as core mounts it.
type harness struct {
	*authtest.Mount
	b logical.Backend
}

func newHarness(t testing.TB, opts map[string]string) *harness {
	t.Helper()
	h := &harness{}
	h.Mount, h.b = authtest.NewMount(t, authtest.Setup{Type: keypair.Type, Path: testMount, View: "auth/kp-test/", Options: opts,
		Clock: authtest.NewClock(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))},
		func(conf *logical.BackendConfig, c *authtest.Clock) (logical.Backend, error) {
			return keypair.New(context.Background(), conf, keypair.WithClock(c.Now))
		})
	return h
}

// req sends one request from the client address remote ("" for none).
func (h *harness) req(op logical.Operation, path string, data map[string]any, remote string) (*logical.Response, error) {
	return h.DoFrom(remote, op, path, data)
}

// register writes keys/name with pub (raw base64) and the extra fields.
func (h *harness) register(name string, pub ed25519.PublicKey, extra map[string]any) {
	h.T.Helper()
	data := map[string]any{"public_key": base64.StdEncoding.EncodeToString(pub)}
	for k, v := range extra {
		data[k] = v
	}
	h.Must(logical.UpdateOperation, "keys/"+name, data)
}

// nonce asks for a nonce for name.
func (h *harness) nonce(name string) string {
	h.T.Helper()
	resp := h.Must(logical.UpdateOperation, "nonce", map[string]any{"name": name})
	n, _ := resp.Data["nonce"].(string)
	if n == "" {
		h.T.Fatalf("nonce answer %v carries no nonce", resp.Data)
	}
	return n
}

// loginData builds a login body signed by priv over mount.
func loginData(priv ed25519.PrivateKey, mount, name, nonce, ts string) map[string]any {
	sig := ed25519.Sign(priv, keypair.LoginMessage(mount, name, nonce, ts))
	return map[string]any{"name": name, "nonce": nonce, "timestamp": ts, "signature": base64.StdEncoding.EncodeToString(sig)}
}

// stamp formats t as a login timestamp.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// newKey returns a deterministic key pair from seed byte b.
func newKey(b byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = b
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return priv.Public().(ed25519.PublicKey), priv
}
