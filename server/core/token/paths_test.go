package token_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
)

// fixture: a root token and a child "svc" token (policies a, b, default;
// ttl 1h) created by root.
type fixture struct {
	*harness
	svc     string
	svcAuth *logical.Auth
}

func newFixture(t *testing.T) *fixture {
	h := newHarness(t, token.Options{})
	svc, auth := h.create(h.root, map[string]any{
		"policies": []any{"a", "B "}, "ttl": "1h", "display_name": "svc one", "meta": map[string]any{"team": "x"},
	})
	return &fixture{harness: h, svc: svc, svcAuth: auth}
}

func TestPaths(t *testing.T) {
	type tc struct {
		name    string
		caller  func(f *fixture) string // default: root
		op      logical.Operation
		path    string
		data    func(f *fixture) map[string]any
		wantErr error
		wantMsg string // exact error text, when set
		check   func(t *testing.T, f *fixture, resp *logical.Response)
	}
	svc := func(f *fixture) string { return f.svc }
	tokenField := func(f *fixture) map[string]any { return map[string]any{"token": f.svc} }
	accessorField := func(f *fixture) map[string]any { return map[string]any{"accessor": f.svcAuth.Accessor} }
	cases := []tc{
		{
			name: "create by root", op: logical.UpdateOperation, path: "create",
			data: func(*fixture) map[string]any {
				return map[string]any{"policies": "p1,p2", "ttl": 7200, "renewable": false, "num_uses": "0"}
			},
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				a := resp.Auth
				if !strings.HasPrefix(a.ClientToken, token.Prefix) || len(a.ClientToken) < 36 || a.Accessor == "" {
					t.Fatalf("token %q accessor %q", a.ClientToken, a.Accessor)
				}
				if !slices.Equal(a.Policies, []string{"default", "p1", "p2"}) || !slices.Equal(a.TokenPolicies, a.Policies) {
					t.Fatalf("policies = %v / %v", a.Policies, a.TokenPolicies)
				}
				if a.LeaseDuration != 7200 || a.Renewable || a.Orphan || a.TokenType != "service" || a.NumUses != 0 {
					t.Fatalf("auth = %+v", a)
				}
			},
		},
		{
			name: "create inherits caller policies", caller: svc, op: logical.UpdateOperation, path: "create",
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if !slices.Equal(resp.Auth.Policies, []string{"a", "b", "default"}) || resp.Auth.LeaseDuration != 768*3600 {
					t.Fatalf("auth = %+v", resp.Auth)
				}
			},
		},
		{
			name: "create with bad ttl names the field", op: logical.UpdateOperation, path: "create",
			data:    func(*fixture) map[string]any { return map[string]any{"ttl": "soon"} },
			wantErr: logical.ErrInvalidRequest, wantMsg: `ttl: invalid duration: not a number of seconds or a duration such as "1h30m" or "7d"`,
		},
		{
			name: "create-orphan by non-root", caller: svc, op: logical.UpdateOperation, path: "create-orphan",
			data: func(*fixture) map[string]any { return map[string]any{"policies": []any{"a"}} },
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if !resp.Auth.Orphan || !slices.Equal(resp.Auth.Policies, []string{"a", "default"}) {
					t.Fatalf("auth = %+v", resp.Auth)
				}
			},
		},
		{
			name: "lookup", op: logical.UpdateOperation, path: "lookup", data: tokenField,
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				d := resp.Data
				want := map[string]any{
					"id": f.svc, "accessor": f.svcAuth.Accessor, "display_name": "token-svc-one",
					"creation_ttl": int64(3600), "ttl": int64(3600), "explicit_max_ttl": int64(0),
					"orphan": false, "renewable": true, "num_uses": 0, "type": "service",
					"path": "auth/token/create", "creation_time": f.clock.Now().Unix(),
					"expire_time": f.clock.Now().Add(time.Hour).Format(time.RFC3339Nano),
					"issue_time":  f.clock.Now().Format(time.RFC3339Nano),
				}
				for k, v := range want {
					if d[k] != v {
						t.Errorf("data[%q] = %#v, want %#v", k, d[k], v)
					}
				}
				if !slices.Equal(d["policies"].([]string), []string{"a", "b", "default"}) {
					t.Errorf("policies = %v", d["policies"])
				}
				if d["meta"].(map[string]string)["team"] != "x" {
					t.Errorf("meta = %v", d["meta"])
				}
			},
		},
		{
			name: "lookup without token field looks up the caller", caller: svc, op: logical.ReadOperation, path: "lookup",
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if resp.Data["id"] != f.svc {
					t.Fatalf("id = %v", resp.Data["id"])
				}
			},
		},
		{
			name: "lookup of unknown token is 403 bad token", op: logical.UpdateOperation, path: "lookup",
			data:    func(*fixture) map[string]any { return map[string]any{"token": "svs.nope"} },
			wantErr: logical.ErrPermissionDenied, wantMsg: "bad token",
		},
		{
			name: "lookup-self", caller: svc, op: logical.ReadOperation, path: "lookup-self",
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if resp.Data["id"] != f.svc || resp.Data["accessor"] != f.svcAuth.Accessor {
					t.Fatalf("data = %v", resp.Data)
				}
			},
		},
		{
			name: "lookup-accessor hides the token", op: logical.UpdateOperation, path: "lookup-accessor", data: accessorField,
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if resp.Data["id"] != "" || resp.Data["accessor"] != f.svcAuth.Accessor || resp.Data["display_name"] != "token-svc-one" {
					t.Fatalf("data = %v", resp.Data)
				}
			},
		},
		{
			name: "lookup-accessor unknown", op: logical.UpdateOperation, path: "lookup-accessor",
			data:    func(*fixture) map[string]any { return map[string]any{"accessor": "nope"} },
			wantErr: logical.ErrInvalidRequest, wantMsg: "invalid accessor",
		},
		{
			name: "lookup-accessor missing field", op: logical.UpdateOperation, path: "lookup-accessor",
			wantErr: logical.ErrInvalidRequest, wantMsg: "accessor: missing accessor",
		},
		{
			name: "renew", op: logical.UpdateOperation, path: "renew",
			data: func(f *fixture) map[string]any { return map[string]any{"token": f.svc, "increment": "2h"} },
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if resp.Auth.ClientToken != f.svc || resp.Auth.LeaseDuration != 7200 {
					t.Fatalf("auth = %+v", resp.Auth)
				}
				e, _ := f.store.Lookup(f.ctx, f.svc)
				if !e.ExpireTime.Equal(f.clock.Now().Add(2*time.Hour)) || !e.LastRenewalTime.Equal(f.clock.Now()) {
					t.Fatalf("entry = %+v", e)
				}
			},
		},
		{
			name: "renew missing token names the field", op: logical.UpdateOperation, path: "renew",
			wantErr: logical.ErrInvalidRequest, wantMsg: "token: missing token ID",
		},
		{
			name: "renew unknown token", op: logical.UpdateOperation, path: "renew",
			data:    func(*fixture) map[string]any { return map[string]any{"token": "svs.nope"} },
			wantErr: logical.ErrInvalidRequest, wantMsg: "token not found",
		},
		{
			name: "renew-self defaults to the creation ttl", caller: svc, op: logical.UpdateOperation, path: "renew-self",
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if resp.Auth.ClientToken != f.svc || resp.Auth.LeaseDuration != 3600 {
					t.Fatalf("auth = %+v", resp.Auth)
				}
			},
		},
		{
			name: "renew-accessor hides the token", op: logical.UpdateOperation, path: "renew-accessor",
			data: func(f *fixture) map[string]any {
				return map[string]any{"accessor": f.svcAuth.Accessor, "increment": 60}
			},
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if resp.Auth.ClientToken != "" || resp.Auth.LeaseDuration != 60 {
					t.Fatalf("auth = %+v", resp.Auth)
				}
			},
		},
		{
			name: "revoke", op: logical.UpdateOperation, path: "revoke", data: tokenField,
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if resp != nil || f.valid(f.svc) {
					t.Fatalf("resp %+v, still valid %v", resp, f.valid(f.svc))
				}
			},
		},
		{
			name: "revoke unknown token succeeds", op: logical.UpdateOperation, path: "revoke",
			data:  func(*fixture) map[string]any { return map[string]any{"token": "svs.nope"} },
			check: func(t *testing.T, f *fixture, resp *logical.Response) {},
		},
		{
			name: "revoke missing token names the field", op: logical.UpdateOperation, path: "revoke",
			wantErr: logical.ErrInvalidRequest, wantMsg: "token: missing token ID",
		},
		{
			name: "revoke-self", caller: svc, op: logical.UpdateOperation, path: "revoke-self",
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if f.valid(f.svc) || !f.valid(f.root) {
					t.Fatal("revoke-self revoked the wrong token")
				}
			},
		},
		{
			name: "revoke-accessor", op: logical.UpdateOperation, path: "revoke-accessor", data: accessorField,
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if resp != nil || f.valid(f.svc) {
					t.Fatal("token survived revoke-accessor")
				}
			},
		},
		{
			name: "revoke-accessor unknown warns", op: logical.UpdateOperation, path: "revoke-accessor",
			data: func(*fixture) map[string]any { return map[string]any{"accessor": "nope"} },
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if resp == nil || len(resp.Warnings) != 1 || !f.valid(f.svc) {
					t.Fatalf("resp = %+v", resp)
				}
			},
		},
		{
			name: "revoke-orphan", op: logical.UpdateOperation, path: "revoke-orphan", data: tokenField,
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if f.valid(f.svc) {
					t.Fatal("token survived revoke-orphan")
				}
			},
		},
		{
			name: "revoke-orphan needs root", caller: svc, op: logical.UpdateOperation, path: "revoke-orphan", data: tokenField,
			wantErr: logical.ErrInvalidRequest, wantMsg: "root or sudo privileges required to revoke and orphan",
		},
		{
			name: "revoke-orphan unknown", op: logical.UpdateOperation, path: "revoke-orphan",
			data:    func(*fixture) map[string]any { return map[string]any{"token": "svs.nope"} },
			wantErr: logical.ErrInvalidRequest, wantMsg: "token to revoke not found",
		},
		{
			name: "accessors", op: logical.ListOperation, path: "accessors/",
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				keys := resp.Data["keys"].([]string)
				rootEntry, _ := f.store.Lookup(f.ctx, f.root)
				want := []string{rootEntry.Accessor, f.svcAuth.Accessor}
				slices.Sort(want)
				if !slices.Equal(keys, want) {
					t.Fatalf("keys = %v, want %v", keys, want)
				}
			},
		},
		{
			name: "accessors needs root", caller: svc, op: logical.ListOperation, path: "accessors",
			wantErr: logical.ErrPermissionDenied,
		},
		{
			name: "tidy", op: logical.UpdateOperation, path: "tidy",
			check: func(t *testing.T, f *fixture, resp *logical.Response) {
				if resp.Data["removed"] != 0 {
					t.Fatalf("data = %v", resp.Data)
				}
			},
		},
		{name: "unknown path", op: logical.UpdateOperation, path: "create/role", wantErr: logical.ErrUnsupportedPath},
		{name: "wrong operation", op: logical.DeleteOperation, path: "create", wantErr: logical.ErrUnsupportedOperation},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			caller := f.root
			if c.caller != nil {
				caller = c.caller(f)
			}
			var data map[string]any
			if c.data != nil {
				data = c.data(f)
			}
			resp, err := f.do(caller, c.op, c.path, data)
			if c.wantErr != nil {
				wantErr(t, err, c.wantErr)
				if c.wantMsg != "" && err.Error() != c.wantMsg {
					t.Fatalf("error text = %q, want %q", err.Error(), c.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			c.check(t, f, resp)
		})
	}
}

func TestMissingFieldIsNamed(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"renew", "revoke", "revoke-orphan"} {
		t.Run(path, func(t *testing.T) {
			_, err := f.do(f.root, logical.UpdateOperation, path, nil)
			var ire *logical.InvalidRequestError
			if !errors.As(err, &ire) || ire.Field != "token" {
				t.Fatalf("err = %v, want InvalidRequestError on field token", err)
			}
		})
	}
}
