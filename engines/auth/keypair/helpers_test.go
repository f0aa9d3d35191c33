package keypair_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/keypair"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// testMount is where the harness mounts the method.
const testMount = "auth/keypair/"

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is one keypair mount, built through Factory's path (New) over
// an inmem store seen through a view, as core mounts it.
type harness struct {
	t     testing.TB
	b     logical.Backend
	store logical.Storage
	clock *clock
}

func newHarness(t testing.TB, opts map[string]string) *harness {
	t.Helper()
	store := storage.NewView(inmem.New(), "auth/kp-test/")
	c := &clock{now: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	b, err := keypair.New(context.Background(), &logical.BackendConfig{MountPoint: testMount, Config: opts, Storage: store}, keypair.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, b: b, store: store, clock: c}
}

// req sends one request from the client address remote ("" for none).
func (h *harness) req(op logical.Operation, path string, data map[string]any, remote string) (*logical.Response, error) {
	r := &logical.Request{Operation: op, Path: path, Data: data, Storage: h.store, MountPoint: testMount, MountType: keypair.Type}
	if remote != "" {
		r.Connection = &logical.Connection{RemoteAddr: remote}
	}
	return h.b.HandleRequest(context.Background(), r)
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.req(op, path, data, "")
}

func (h *harness) must(op logical.Operation, path string, data map[string]any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// register writes keys/name with pub (raw base64) and the extra fields.
func (h *harness) register(name string, pub ed25519.PublicKey, extra map[string]any) {
	h.t.Helper()
	data := map[string]any{"public_key": base64.StdEncoding.EncodeToString(pub)}
	for k, v := range extra {
		data[k] = v
	}
	h.must(logical.UpdateOperation, "keys/"+name, data)
}

// nonce asks for a nonce for name.
func (h *harness) nonce(name string) string {
	h.t.Helper()
	resp := h.must(logical.UpdateOperation, "nonce", map[string]any{"name": name})
	n, _ := resp.Data["nonce"].(string)
	if n == "" {
		h.t.Fatalf("nonce answer %v carries no nonce", resp.Data)
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
