package core_test

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// newCore returns an initialised, unsealed core over inmem storage.
func newCore(t testing.TB) (*core.Core, *core.InitResult) {
	t.Helper()
	return newCoreWith(t, core.Config{Physical: inmem.New()})
}

// newCoreWith is newCore with cfg.
func newCoreWith(t testing.TB, cfg core.Config) (*core.Core, *core.InitResult) {
	t.Helper()
	ctx := context.Background()
	c, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Initialize(ctx, &core.InitParams{SecretShares: 5, SecretThreshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range res.Keys[:3] {
		if _, err := c.Unseal(ctx, mustHex(t, k)); err != nil {
			t.Fatal(err)
		}
	}
	if c.Sealed() {
		t.Fatal("still sealed after threshold shares")
	}
	return c, res
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func do(t testing.TB, c *core.Core, tok string, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	t.Helper()
	return c.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data, ClientToken: tok})
}

func TestInitUnsealSealLifecycle(t *testing.T) {
	ctx := context.Background()
	c, err := core.New(core.Config{Physical: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.SealStatus(ctx)
	if err != nil || st.Initialized || !st.Sealed {
		t.Fatalf("fresh status = %+v, %v", st, err)
	}
	if _, err := c.Unseal(ctx, []byte("x")); !errors.Is(err, core.ErrNotInitialized) {
		t.Fatalf("unseal before init: %v", err)
	}
	bad := []*core.InitParams{
		{SecretShares: 0, SecretThreshold: 0},
		{SecretShares: 3, SecretThreshold: 4},
		{SecretShares: 5, SecretThreshold: 3, PGPKeys: []string{"k"}},
		{SecretShares: 5, SecretThreshold: 3, StoredShares: 1},
	}
	for _, p := range bad {
		if _, err := c.Initialize(ctx, p); !errors.Is(err, logical.ErrInvalidRequest) {
			t.Errorf("Initialize(%+v) = %v, want invalid request", p, err)
		}
	}
	res, err := c.Initialize(ctx, &core.InitParams{SecretShares: 5, SecretThreshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Keys) != 5 || len(res.KeysB64) != 5 || res.RootToken == "" {
		t.Fatalf("init result = %d keys, %d b64, token %q", len(res.Keys), len(res.KeysB64), res.RootToken)
	}
	if _, err := c.Initialize(ctx, &core.InitParams{SecretShares: 1, SecretThreshold: 1}); !errors.Is(err, core.ErrAlreadyInitialized) {
		t.Fatalf("init twice: %v", err)
	}
	if !c.Sealed() {
		t.Fatal("init must leave the node sealed")
	}
	if _, err := do(t, c, res.RootToken, logical.ReadOperation, "sys/mounts", nil); !errors.Is(err, logical.ErrSealed) {
		t.Fatalf("request while sealed: %v", err)
	}
	for i, k := range []string{res.Keys[4], res.Keys[0]} {
		st, err := c.Unseal(ctx, mustHex(t, k))
		if err != nil || st.Progress != i+1 || !st.Sealed || st.Nonce == "" {
			t.Fatalf("share %d: %+v, %v", i, st, err)
		}
	}
	st, err = c.Unseal(ctx, mustHex(t, res.Keys[2]))
	if err != nil || st.Sealed || st.Progress != 0 || st.T != 3 || st.N != 5 || st.ClusterName == "" {
		t.Fatalf("after threshold: %+v, %v", st, err)
	}
	if err := c.Seal(ctx, "not-a-token"); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("seal with bad token: %v", err)
	}
	if err := c.Seal(ctx, res.RootToken); err != nil {
		t.Fatal(err)
	}
	if !c.Sealed() {
		t.Fatal("not sealed after Seal")
	}
}

func TestWrongUnsealKeyIsRejected(t *testing.T) {
	ctx := context.Background()
	c, err := core.New(core.Config{Physical: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Initialize(ctx, &core.InitParams{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	other, err := core.New(core.Config{Physical: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := other.Initialize(ctx, &core.InitParams{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Two shares of another cluster combine to a key that is not ours.
	if _, err := c.Unseal(ctx, mustHex(t, res2.Keys[0])); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unseal(ctx, mustHex(t, res2.Keys[1])); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("wrong shares: %v", err)
	}
	st, _ := c.SealStatus(ctx)
	if !st.Sealed || st.Progress != 0 {
		t.Fatalf("after wrong key: %+v", st)
	}
	// The right shares still work afterwards.
	for _, k := range res.Keys[1:] {
		if _, err := c.Unseal(ctx, mustHex(t, k)); err != nil {
			t.Fatal(err)
		}
	}
	if c.Sealed() {
		t.Fatal("right keys did not unseal")
	}
}

func TestMountsAndKV(t *testing.T) {
	c, res := newCore(t)
	root := res.RootToken
	if _, err := do(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		data map[string]any
		want error
	}{
		{"in use", "sys/mounts/secret", map[string]any{"type": "kv-v2"}, logical.ErrInvalidRequest},
		{"nested in use", "sys/mounts/secret/sub", map[string]any{"type": "kv-v2"}, logical.ErrInvalidRequest},
		{"reserved", "sys/mounts/sys", map[string]any{"type": "kv-v2"}, logical.ErrInvalidRequest},
		{"unknown type", "sys/mounts/x", map[string]any{"type": "nope"}, logical.ErrInvalidRequest},
		{"kv v1", "sys/mounts/x", map[string]any{"type": "kv"}, logical.ErrInvalidRequest},
		{"missing type", "sys/mounts/x", map[string]any{}, logical.ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := do(t, c, root, logical.UpdateOperation, tc.path, tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	resp, err := do(t, c, root, logical.ReadOperation, "sys/mounts", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := resp.Data["secret/"].(map[string]any)
	if !ok || m["type"] != "kv" || m["options"].(map[string]any)["version"] != "2" {
		t.Fatalf("sys/mounts = %v", resp.Data)
	}
	if _, err := do(t, c, root, logical.UpdateOperation, "secret/data/app/db", map[string]any{"data": map[string]any{"password": "hunter2"}}); err != nil {
		t.Fatal(err)
	}
	resp, err = do(t, c, root, logical.ReadOperation, "secret/data/app/db", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := resp.Data["data"].(map[string]any); d["password"] != "hunter2" {
		t.Fatalf("read back %v", resp.Data)
	}
	ui, err := do(t, c, root, logical.ReadOperation, "sys/internal/ui/mounts/secret/app/db", nil)
	if err != nil || ui.Data["path"] != "secret/" || ui.Data["type"] != "kv" {
		t.Fatalf("ui mounts = %v, %v", ui, err)
	}
	if _, err := do(t, c, root, logical.ReadOperation, "nope/x", nil); !errors.Is(err, logical.ErrUnsupportedPath) {
		t.Fatalf("unmounted path: %v", err)
	}
	// Disable purges the data: a new mount at the same path is empty.
	if _, err := do(t, c, root, logical.DeleteOperation, "sys/mounts/secret", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, c, root, logical.ReadOperation, "secret/data/app/db", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("data survived disable: %v", err)
	}
}

func TestAuthorization(t *testing.T) {
	c, res := newCore(t)
	root := res.RootToken
	resp, err := do(t, c, root, logical.UpdateOperation, "auth/token/create", map[string]any{"policies": []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	child := resp.Auth.ClientToken
	if _, err := do(t, c, "", logical.ReadOperation, "sys/mounts", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("no token: %v", err)
	}
	if _, err := do(t, c, "svs.bogus", logical.ReadOperation, "sys/mounts", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("bad token: %v", err)
	}
	// The default policy grants a child token its own token paths only
	// (Vault's): not even reading the mount table.
	if _, err := do(t, c, child, logical.ReadOperation, "sys/mounts", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("child read of sys: %v", err)
	}
	if _, err := do(t, c, child, logical.UpdateOperation, "sys/mounts/kv2", map[string]any{"type": "kv-v2"}); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("child sys write: %v", err)
	}
	if _, err := do(t, c, root, logical.UpdateOperation, "sys/mounts/kv2", map[string]any{"type": "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	// What a non-root token may do beyond this is its policies'
	// decision: see the policy tests.
}

func TestRotateKeepsData(t *testing.T) {
	c, res := newCore(t)
	root := res.RootToken
	if _, err := do(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, c, root, logical.UpdateOperation, "secret/data/a", map[string]any{"data": map[string]any{"v": "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, c, root, logical.UpdateOperation, "sys/rotate", nil); err != nil {
		t.Fatal(err)
	}
	ks, err := do(t, c, root, logical.ReadOperation, "sys/key-status", nil)
	if err != nil || ks.Data["term"] != uint32(2) {
		t.Fatalf("key-status = %v, %v", ks, err)
	}
	resp, err := do(t, c, root, logical.ReadOperation, "secret/data/a", nil)
	if err != nil || resp.Data["data"].(map[string]any)["v"] != "1" {
		t.Fatalf("read after rotate = %v, %v", resp, err)
	}
}

func TestTokenPathsNeedAPolicyForOtherTokens(t *testing.T) {
	c, res := newCore(t)
	resp, err := do(t, c, res.RootToken, logical.UpdateOperation, "auth/token/create", map[string]any{"policies": []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	child := resp.Auth.ClientToken
	if _, err := do(t, c, child, logical.ReadOperation, "auth/token/lookup-self", nil); err != nil {
		t.Fatalf("lookup-self: %v", err)
	}
	if _, err := do(t, c, child, logical.UpdateOperation, "auth/token/revoke", map[string]any{"token": res.RootToken}); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("child revoking root: %v", err)
	}
	if _, err := do(t, c, res.RootToken, logical.ReadOperation, "sys/mounts", nil); err != nil {
		t.Fatalf("root token damaged: %v", err)
	}
}

func TestInitializeDev(t *testing.T) {
	ctx := context.Background()
	c, err := core.New(core.Config{Physical: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	key, root, err := c.InitializeDev(ctx, "dev-root")
	if err != nil || key == "" || root != "dev-root" || c.Sealed() {
		t.Fatalf("dev init = %q, %q, %v (sealed %v)", key, root, err, c.Sealed())
	}
	if _, err := do(t, c, "dev-root", logical.UpdateOperation, "secret/data/x", map[string]any{"data": map[string]any{"a": "b"}}); err != nil {
		t.Fatalf("dev kv write: %v", err)
	}
}
