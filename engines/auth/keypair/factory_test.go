package keypair_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/keypair"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

func TestFactory(t *testing.T) {
	tests := []struct {
		name    string
		opts    map[string]string
		wantErr bool
	}{
		{name: "defaults"},
		{name: "lockout options", opts: map[string]string{"lockout_threshold": "2", "lockout_duration": "1m"}},
		{name: "bad lockout threshold", opts: map[string]string{"lockout_threshold": "none"}, wantErr: true},
		{name: "bad lockout disable", opts: map[string]string{"lockout_disable": "perhaps"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := storage.NewView(inmem.New(), "auth/factory/")
			b, err := keypair.Factory(context.Background(), &logical.BackendConfig{MountPoint: "auth/kp/", Config: tc.opts, Storage: store})
			if tc.wantErr {
				if !errors.Is(err, logical.ErrInvalidRequest) {
					t.Fatalf("Factory = %v, want a 400", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// A login on the real clock, with the mount path the Factory
			// got (the request carries none).
			pub, priv := newKey(7)
			do := func(path string, data map[string]any) (*logical.Response, error) {
				return b.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: path, Data: data, Storage: store})
			}
			if _, err := do("keys/svc", map[string]any{"public_key": keypair.AuthorizedKey(pub) + " comment"}); err != nil {
				t.Fatal(err)
			}
			resp, err := do("nonce", map[string]any{"name": "svc"})
			if err != nil {
				t.Fatal(err)
			}
			n := resp.Data["nonce"].(string)
			if _, err := do("login", loginData(priv, "auth/other/", "svc", n, stamp(time.Now()))); !errors.Is(err, keypair.ErrLoginFailed) {
				t.Fatalf("login signed for another mount = %v", err)
			}
			resp, _ = do("nonce", map[string]any{"name": "svc"})
			resp, err = do("login", loginData(priv, "auth/kp/", "svc", resp.Data["nonce"].(string), stamp(time.Now())))
			if err != nil || resp.Auth.Alias.Name != "svc" || resp.Auth.EntityType != "User" {
				t.Fatalf("login = %+v, %v", resp, err)
			}
		})
	}
	if keypair.Type != "keypair" {
		t.Fatalf("Type = %q", keypair.Type)
	}
}
