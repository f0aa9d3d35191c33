package client_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/client"
)

func TestAuthMethodShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	runShapes(t, []shapeCase{
		{
			name: "enable auth", status: 204,
			call: func(c *client.Client) (any, error) {
				return nil, c.Sys().EnableAuth(ctx, "/people/", &client.MountInput{Type: "userpass", Description: "staff",
					Config: client.MountConfigInput{DefaultLeaseTTL: "1h"}})
			},
			method: "POST", path: "/v1/sys/auth/people",
			req: `{"type":"userpass","description":"staff","config":{"default_lease_ttl":"1h"}}`,
		},
		{
			name: "disable auth", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().DisableAuth(ctx, "people/") },
			method: "DELETE", path: "/v1/sys/auth/people",
		},
		{
			name: "list auth enveloped", status: 200,
			reply: `{"request_id":"r","token/":{"type":"token"},"data":{"token/":{"type":"token","accessor":"auth_token_1","description":"token based credentials"},"people/":{"type":"userpass","accessor":"auth_userpass_2","config":{"default_lease_ttl":3600,"max_lease_ttl":0}}}}`,
			call: func(c *client.Client) (any, error) {
				m, err := c.Sys().ListAuth(ctx)
				if err != nil {
					return nil, err
				}
				return []any{len(m), m["token/"].Accessor, m["people/"].Type, m["people/"].Config.DefaultLeaseTTL}, nil
			},
			method: "GET", path: "/v1/sys/auth", want: []any{2, "auth_token_1", "userpass", 3600},
		},
		{
			name: "list auth bare", status: 200, reply: `{"token/":{"type":"token"},"lease_id":"","warnings":null}`,
			call: func(c *client.Client) (any, error) {
				m, err := c.Sys().ListAuth(ctx)
				return len(m), err
			},
			method: "GET", path: "/v1/sys/auth", want: 1,
		},
	})
}

// loginReply is Vault's answer to a successful login.
const loginReply = `{"request_id":"r","auth":{"client_token":"s.new","accessor":"acc9","policies":["default","dev"],` +
	`"token_policies":["default","dev"],"metadata":{"username":"alice"},"lease_duration":3600,"renewable":true,"entity_id":"ent-1"}}`

func TestLoginShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name         string
		call         func(c *client.Client) (*client.Secret, error)
		path, body   string
		wantIdentity string
	}{
		{"generic default sub path", func(c *client.Client) (*client.Secret, error) {
			return c.Login(ctx, "/keys/", "", map[string]any{"x": "y"})
		}, "/v1/auth/keys/login", `{"x":"y"}`, "ent-1"},
		{"generic nil data", func(c *client.Client) (*client.Secret, error) {
			return c.Login(ctx, "oidc", "callback", nil)
		}, "/v1/auth/oidc/callback", `{}`, "ent-1"},
		{"userpass", func(c *client.Client) (*client.Secret, error) {
			return c.LoginUserpass(ctx, "userpass", "alice", "pw")
		}, "/v1/auth/userpass/login/alice", `{"password":"pw"}`, "ent-1"},
		{"approle", func(c *client.Client) (*client.Secret, error) {
			return c.LoginAppRole(ctx, "approle", "rid", "sid")
		}, "/v1/auth/approle/login", `{"role_id":"rid","secret_id":"sid"}`, "ent-1"},
		{"approle no secret id", func(c *client.Client) (*client.Secret, error) {
			return c.LoginAppRole(ctx, "ci", "rid", "")
		}, "/v1/auth/ci/login", `{"role_id":"rid"}`, "ent-1"},
		{"jwt", func(c *client.Client) (*client.Secret, error) {
			return c.LoginJWT(ctx, "jwt", "builder", "eyJ.x.y")
		}, "/v1/auth/jwt/login", `{"role":"builder","jwt":"eyJ.x.y"}`, "ent-1"},
		{"cert named", func(c *client.Client) (*client.Secret, error) {
			return c.LoginCert(ctx, "cert", "web")
		}, "/v1/auth/cert/login", `{"name":"web"}`, "ent-1"},
		{"cert any", func(c *client.Client) (*client.Secret, error) {
			return c.LoginCert(ctx, "cert", "")
		}, "/v1/auth/cert/login", `{}`, "ent-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, 200, loginReply)
			c := f.client(t)
			s, err := tt.call(c)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			r := f.last(t)
			if r.Method != "POST" || r.Path != tt.path {
				t.Errorf("request %s %s, want POST %s", r.Method, r.Path, tt.path)
			}
			if r.Token != "" {
				t.Errorf("login sent X-Vault-Token %q", r.Token)
			}
			jsonEqual(t, r.Body, tt.body)
			a := s.Auth
			if a.ClientToken != "s.new" || a.Accessor != "acc9" || a.EntityID != tt.wantIdentity ||
				!reflect.DeepEqual(a.Policies, []string{"default", "dev"}) || a.LeaseDuration != 3600 ||
				!a.Renewable || a.Metadata["username"] != "alice" {
				t.Errorf("auth = %+v", a)
			}
			if c.ClientToken() != "s.testtoken" {
				t.Errorf("login changed the client's token to %q", c.ClientToken())
			}
		})
	}
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		status int
		reply  string
		call   func(c *client.Client) (*client.Secret, error)
		is     error
		sent   bool
	}{
		{"bad password", 400, `{"errors":["invalid username or password"]}`,
			func(c *client.Client) (*client.Secret, error) {
				return c.LoginUserpass(ctx, "userpass", "alice", "hunter2")
			},
			client.ErrInvalidRequest, true},
		{"no auth block", 200, `{"data":{"x":1}}`,
			func(c *client.Client) (*client.Secret, error) { return c.LoginAppRole(ctx, "approle", "r", "s") }, nil, true},
		{"empty answer", 204, ``,
			func(c *client.Client) (*client.Secret, error) { return c.LoginJWT(ctx, "jwt", "", "t") }, nil, true},
		{"no mount", 200, loginReply,
			func(c *client.Client) (*client.Secret, error) { return c.Login(ctx, "/", "", nil) }, client.ErrInvalidArgument, false},
		{"no password", 200, loginReply,
			func(c *client.Client) (*client.Secret, error) { return c.LoginUserpass(ctx, "userpass", "alice", "") },
			client.ErrInvalidArgument, false},
		{"slash in username", 200, loginReply,
			func(c *client.Client) (*client.Secret, error) { return c.LoginUserpass(ctx, "userpass", "a/b", "x") },
			client.ErrInvalidArgument, false},
		{"no role id", 200, loginReply,
			func(c *client.Client) (*client.Secret, error) { return c.LoginAppRole(ctx, "approle", "", "x") },
			client.ErrInvalidArgument, false},
		{"no jwt", 200, loginReply,
			func(c *client.Client) (*client.Secret, error) { return c.LoginJWT(ctx, "jwt", "r", "") },
			client.ErrInvalidArgument, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, tt.status, tt.reply)
			s, err := tt.call(f.client(t))
			if err == nil || s != nil {
				t.Fatalf("got %v, %v; want an error", s, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %v", err)
			}
			f.mu.Lock()
			sent := len(f.reqs) > 0
			f.mu.Unlock()
			if sent != tt.sent {
				t.Errorf("request sent = %v, want %v", sent, tt.sent)
			}
		})
	}
}
