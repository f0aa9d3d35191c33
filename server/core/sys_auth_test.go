package core

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// echoAuth is a minimal auth method for the auth table tests: a login path
// that needs no token, and a config path that does.
func echoAuth(_ context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &framework.Backend{Paths: []*framework.Path{
		{Pattern: "login", Unauthenticated: true, Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: func(_ context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
				return &logical.Response{Data: map[string]any{"mount": req.MountPoint, "path": req.Path}}, nil
			}}},
		{Pattern: "config", Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: func(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
				return &logical.Response{Data: map[string]any{"ok": true}}, nil
			}}},
	}}
	return b, b.Init()
}

func TestAuthMountTable(t *testing.T) {
	phys := inmem.New()
	c, err := New(Config{Physical: phys, AuthFactories: map[string]logical.Factory{"echo": echoAuth}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key, root, err := c.InitializeDev(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	req := func(op logical.Operation, path, tok string, data map[string]any) (*logical.Response, error) {
		return c.HandleRequest(ctx, &logical.Request{Operation: op, Path: path, ClientToken: tok, Data: data})
	}
	list, err := req(logical.ReadOperation, "sys/auth", root, nil)
	if err != nil || len(list.Data) != 1 || list.Data["token/"] == nil {
		t.Fatalf("fresh sys/auth = %v, %v; want token/ only", list, err)
	}
	if _, err := req(logical.UpdateOperation, "sys/auth/pass", root, map[string]any{"type": "nope"}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("unknown type: %v", err)
	}
	if _, err := req(logical.UpdateOperation, "sys/auth/token", root, map[string]any{"type": "echo"}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("mount over token/: %v", err)
	}
	if _, err := req(logical.UpdateOperation, "sys/auth/echo1", root, map[string]any{"type": "echo", "description": "test", "config": map[string]any{"default_lease_ttl": "1h"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := req(logical.UpdateOperation, "sys/auth/echo1/x", root, map[string]any{"type": "echo"}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("overlapping mount: %v", err)
	}
	// A login needs no token and reaches the mount with a relative path.
	resp, err := req(logical.UpdateOperation, "auth/echo1/login", "", nil)
	if err != nil || resp.Data["mount"] != "auth/echo1/" || resp.Data["path"] != "login" {
		t.Fatalf("login = %v, %v", resp, err)
	}
	if _, err := req(logical.ReadOperation, "auth/echo1/config", "", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("config without a token: %v", err)
	}
	tune, err := req(logical.ReadOperation, "sys/auth/echo1/tune", root, nil)
	if err != nil || tune.Data["default_lease_ttl"] != int64(3600) || tune.Data["max_lease_ttl"] != int64(2764800) {
		t.Fatalf("tune = %v, %v; want 3600 and the system max 2764800", tune, err)
	}
	if _, err := req(logical.UpdateOperation, "sys/auth/echo1/tune", root, map[string]any{"max_lease_ttl": "30m"}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("max below default: %v", err)
	}
	if _, err := req(logical.UpdateOperation, "sys/auth/echo1/tune", root, map[string]any{"max_lease_ttl": "2h", "description": "tuned"}); err != nil {
		t.Fatal(err)
	}
	// The table is persisted behind the barrier: it survives a seal.
	if err := c.Seal(ctx, root); err != nil {
		t.Fatal(err)
	}
	raw, _ := hex.DecodeString(key)
	if _, err := c.Unseal(ctx, raw); err != nil {
		t.Fatal(err)
	}
	e, err := phys.Get(ctx, authTableKey)
	if err != nil || e == nil || string(e.Value[:1]) == "{" {
		t.Fatalf("stored auth table %v, %v: want barrier ciphertext", e, err)
	}
	got, err := req(logical.ReadOperation, "sys/auth/echo1", root, nil)
	if err != nil || got.Data["type"] != "echo" || got.Data["description"] != "tuned" {
		t.Fatalf("after unseal sys/auth/echo1 = %v, %v", got, err)
	}
	if cfg := got.Data["config"].(map[string]any); cfg["max_lease_ttl"] != int64(7200) {
		t.Fatalf("tuned max_lease_ttl = %v", cfg["max_lease_ttl"])
	}
	if _, err := req(logical.DeleteOperation, "sys/auth/token", root, nil); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("disable token: %v", err)
	}
	if _, err := req(logical.DeleteOperation, "sys/auth/echo1", root, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := req(logical.UpdateOperation, "auth/echo1/login", "", nil); !errors.Is(err, logical.ErrUnsupportedPath) {
		t.Fatalf("login after disable: %v", err)
	}
}

func TestTuneReportsEffectiveTTLs(t *testing.T) {
	c, _, root, _ := recordedCore(t)
	resp, err := get(c, root, "sys/mounts/secret/tune")
	if err != nil || resp.Data["default_lease_ttl"] != int64(2764800) || resp.Data["max_lease_ttl"] != int64(2764800) {
		t.Fatalf("tune of an untuned mount = %v, %v; want the 768h system defaults", resp, err)
	}
}
