package client_test

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"

	"github.com/secretumvault/secretumvault/client"
)

// jsonEqual compares two JSON texts structurally ("" matches an empty body).
func jsonEqual(t *testing.T, got, want string) {
	t.Helper()
	if got == "" || want == "" {
		if got != want {
			t.Fatalf("body = %q, want %q", got, want)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("request body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("body = %s, want %s", got, want)
	}
}

// shapeCase is one SDK call against a fake server answering status and
// reply: the exact request it must send and what it must return.
type shapeCase struct {
	name                     string
	status                   int
	reply                    string
	call                     func(c *client.Client) (any, error)
	method, path, query, req string
	want                     any
}

func TestRequestShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	runShapes(t, []shapeCase{
		{
			name: "read", status: 200,
			reply: `{"request_id":"r1","lease_id":"","renewable":false,"lease_duration":2764800,"data":{"foo":"bar"},"wrap_info":null,"warnings":null,"auth":null}`,
			call: func(c *client.Client) (any, error) {
				s, err := c.Read(ctx, "secret/foo", url.Values{"x": {"1"}})
				if err != nil {
					return nil, err
				}
				return []any{s.RequestID, s.LeaseDuration, s.Data["foo"]}, nil
			},
			method: "GET", path: "/v1/secret/foo", query: "x=1", want: []any{"r1", 2764800, "bar"},
		},
		{
			name: "write 204", status: 204,
			call: func(c *client.Client) (any, error) {
				s, err := c.Write(ctx, "/secret/foo", map[string]any{"a": "b", "n": 3})
				return s == nil, err
			},
			method: "PUT", path: "/v1/secret/foo", req: `{"a":"b","n":3}`, want: true,
		},
		{
			name: "list", status: 200, reply: `{"data":{"keys":["a","b/"]}}`,
			call: func(c *client.Client) (any, error) {
				s, err := c.List(ctx, "secret/metadata/")
				return s.Keys(), err
			},
			method: "LIST", path: "/v1/secret/metadata/", want: []string{"a", "b/"},
		},
		{
			name: "delete", status: 204,
			call: func(c *client.Client) (any, error) {
				s, err := c.Delete(ctx, "secret/foo", nil)
				return s == nil, err
			},
			method: "DELETE", path: "/v1/secret/foo", want: true,
		},
		{
			name: "sys init", status: 200,
			reply: `{"keys":["aa","bb"],"keys_base64":["qg==","uw=="],"root_token":"s.root"}`,
			call: func(c *client.Client) (any, error) {
				r, err := c.Sys().Init(ctx, &client.InitRequest{SecretShares: 2, SecretThreshold: 1})
				if err != nil {
					return nil, err
				}
				return *r, nil
			},
			method: "PUT", path: "/v1/sys/init", req: `{"secret_shares":2,"secret_threshold":1}`,
			want: client.InitResponse{Keys: []string{"aa", "bb"}, KeysB64: []string{"qg==", "uw=="}, RootToken: "s.root"},
		},
		{
			name: "sys init status", status: 200, reply: `{"initialized":true}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().InitStatus(ctx) },
			method: "GET", path: "/v1/sys/init", want: true,
		},
		{
			name: "unseal", status: 200,
			reply: `{"type":"shamir","initialized":true,"sealed":true,"t":3,"n":5,"progress":1,"nonce":"n1","version":"0.1.0"}`,
			call: func(c *client.Client) (any, error) {
				s, err := c.Sys().Unseal(ctx, "key1")
				if err != nil {
					return nil, err
				}
				return []any{s.Sealed, s.T, s.N, s.Progress, s.Nonce}, nil
			},
			method: "PUT", path: "/v1/sys/unseal", req: `{"key":"key1"}`, want: []any{true, 3, 5, 1, "n1"},
		},
		{
			name: "unseal reset", status: 200, reply: `{"sealed":true,"progress":0}`,
			call: func(c *client.Client) (any, error) {
				s, err := c.Sys().UnsealReset(ctx)
				return s.Progress, err
			},
			method: "PUT", path: "/v1/sys/unseal", req: `{"reset":true}`, want: 0,
		},
		{
			name: "seal status enveloped", status: 200,
			reply: `{"request_id":"x","data":{"sealed":false,"initialized":true,"t":1,"n":1}}`,
			call: func(c *client.Client) (any, error) {
				s, err := c.Sys().SealStatus(ctx)
				return []any{s.Initialized, s.Sealed}, err
			},
			method: "GET", path: "/v1/sys/seal-status", want: []any{true, false},
		},
		{
			name: "seal", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().Seal(ctx) },
			method: "PUT", path: "/v1/sys/seal",
		},
		{
			name: "enable mount", status: 204,
			call: func(c *client.Client) (any, error) {
				return nil, c.Sys().EnableMount(ctx, "kv2/", &client.MountInput{Type: "kv", Description: "d",
					Options: map[string]string{"version": "2"}})
			},
			method: "POST", path: "/v1/sys/mounts/kv2",
			req: `{"type":"kv","description":"d","config":{},"options":{"version":"2"}}`,
		},
		{
			name: "disable mount", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().DisableMount(ctx, "kv2") },
			method: "DELETE", path: "/v1/sys/mounts/kv2",
		},
		{
			name: "list mounts enveloped", status: 200,
			reply: `{"request_id":"r","secret/":{"type":"kv"},"data":{"secret/":{"type":"kv","accessor":"kv_1","options":{"version":"2"},"config":{"default_lease_ttl":0,"max_lease_ttl":0}},"sys/":{"type":"system"}}}`,
			call: func(c *client.Client) (any, error) {
				m, err := c.Sys().ListMounts(ctx)
				if err != nil {
					return nil, err
				}
				return []any{len(m), m["secret/"].Accessor, m["secret/"].Options["version"], m["sys/"].Type}, nil
			},
			method: "GET", path: "/v1/sys/mounts", want: []any{2, "kv_1", "2", "system"},
		},
		{
			name: "list mounts bare", status: 200,
			reply: `{"secret/":{"type":"kv"},"lease_id":"","warnings":null}`,
			call: func(c *client.Client) (any, error) {
				m, err := c.Sys().ListMounts(ctx)
				return len(m), err
			},
			method: "GET", path: "/v1/sys/mounts", want: 1,
		},
		{
			name: "kv put cas", status: 200,
			reply: `{"data":{"created_time":"2024-01-02T03:04:05.123456Z","deletion_time":"","destroyed":false,"version":4}}`,
			call: func(c *client.Client) (any, error) {
				m, err := c.KV("secret").Put(ctx, "app/db", map[string]any{"password": "hunter2"}, client.WithCAS(3))
				if err != nil {
					return nil, err
				}
				return []any{m.Version, m.CreatedTime.Year(), m.DeletionTime.IsZero()}, nil
			},
			method: "PUT", path: "/v1/secret/data/app/db",
			req:  `{"data":{"password":"hunter2"},"options":{"cas":3}}`,
			want: []any{4, 2024, true},
		},
		{
			name: "kv get version", status: 200,
			reply: `{"data":{"data":{"password":"hunter2","port":5432},"metadata":{"created_time":"2024-01-02T03:04:05Z","deletion_time":"","destroyed":false,"version":2}}}`,
			call: func(c *client.Client) (any, error) {
				s, err := c.KV("secret").Get(ctx, "app/db", client.WithVersion(2))
				if err != nil {
					return nil, err
				}
				return []any{s.Data["password"], s.Data["port"], s.VersionMetadata.Version}, nil
			},
			method: "GET", path: "/v1/secret/data/app/db", query: "version=2",
			want: []any{"hunter2", json.Number("5432"), 2},
		},
		{
			name: "kv delete latest", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.KV("secret").Delete(ctx, "app/db") },
			method: "DELETE", path: "/v1/secret/data/app/db",
		},
		{
			name: "kv delete versions", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.KV("secret").Delete(ctx, "app/db", 1, 2) },
			method: "PUT", path: "/v1/secret/delete/app/db", req: `{"versions":[1,2]}`,
		},
		{
			name: "kv undelete", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.KV("secret").Undelete(ctx, "app/db", 2) },
			method: "PUT", path: "/v1/secret/undelete/app/db", req: `{"versions":[2]}`,
		},
		{
			name: "kv destroy", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.KV("secret").Destroy(ctx, "app/db", 3) },
			method: "PUT", path: "/v1/secret/destroy/app/db", req: `{"versions":[3]}`,
		},
		{
			name: "kv list", status: 200, reply: `{"data":{"keys":["db","web/"]}}`,
			call:   func(c *client.Client) (any, error) { return c.KV("/secret/").List(ctx, "app") },
			method: "LIST", path: "/v1/secret/metadata/app", want: []string{"db", "web/"},
		},
		{
			name: "kv list empty is 404", status: 404, reply: `{"errors":[]}`,
			call:   func(c *client.Client) (any, error) { return c.KV("secret").List(ctx, "") },
			method: "LIST", path: "/v1/secret/metadata/", want: []string{},
		},
		{
			name: "kv metadata", status: 200,
			reply: `{"data":{"cas_required":false,"created_time":"2024-01-02T03:04:05Z","current_version":3,"delete_version_after":"0s","max_versions":0,"oldest_version":1,"updated_time":"2024-01-03T03:04:05Z","custom_metadata":null,"versions":{"1":{"created_time":"2024-01-02T03:04:05Z","deletion_time":"","destroyed":true},"3":{"created_time":"2024-01-03T03:04:05Z","deletion_time":"2024-01-04T00:00:00Z","destroyed":false}}}}`,
			call: func(c *client.Client) (any, error) {
				m, err := c.KV("secret").Metadata(ctx, "app/db")
				if err != nil {
					return nil, err
				}
				return []any{m.CurrentVersion, m.VersionNumbers(), m.Versions[1].Destroyed, m.Versions[3].DeletionTime.Day()}, nil
			},
			method: "GET", path: "/v1/secret/metadata/app/db", want: []any{3, []int{1, 3}, true, 4},
		},
		{
			name: "kv delete metadata", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.KV("secret").DeleteMetadata(ctx, "app/db") },
			method: "DELETE", path: "/v1/secret/metadata/app/db",
		},
		{
			name: "token create", status: 200,
			reply: `{"auth":{"client_token":"s.child","accessor":"acc","policies":["default","dev"],"lease_duration":3600,"renewable":true}}`,
			call: func(c *client.Client) (any, error) {
				f := false
				s, err := c.Token().Create(ctx, &client.TokenCreateRequest{Policies: []string{"dev"}, TTL: "1h",
					NoParent: true, Renewable: &f, Metadata: map[string]string{"team": "x"}, NumUses: 2})
				if err != nil {
					return nil, err
				}
				return []any{s.Auth.ClientToken, s.Auth.Policies}, nil
			},
			method: "POST", path: "/v1/auth/token/create",
			req:  `{"policies":["dev"],"meta":{"team":"x"},"no_parent":true,"renewable":false,"ttl":"1h","num_uses":2}`,
			want: []any{"s.child", []string{"default", "dev"}},
		},
		{
			name: "token lookup", status: 200, reply: `{"data":{"id":"s.other","ttl":10}}`,
			call: func(c *client.Client) (any, error) {
				s, err := c.Token().Lookup(ctx, "s.other")
				return s.Data["ttl"], err
			},
			method: "POST", path: "/v1/auth/token/lookup", req: `{"token":"s.other"}`, want: json.Number("10"),
		},
		{
			name: "token lookup self", status: 200, reply: `{"data":{"id":"s.testtoken"}}`,
			call: func(c *client.Client) (any, error) {
				s, err := c.Token().LookupSelf(ctx)
				return s.Data["id"], err
			},
			method: "GET", path: "/v1/auth/token/lookup-self", want: "s.testtoken",
		},
		{
			name: "token revoke", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Token().Revoke(ctx, "s.other") },
			method: "PUT", path: "/v1/auth/token/revoke", req: `{"token":"s.other"}`,
		},
	})
}

// runShapes runs each case against its own fake server.
func runShapes(t *testing.T, tests []shapeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, tt.status, tt.reply)
			got, err := tt.call(f.client(t))
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			r := f.last(t)
			if r.Method != tt.method || r.Path != tt.path || r.Query != tt.query {
				t.Errorf("request = %s %s?%s, want %s %s?%s", r.Method, r.Path, r.Query, tt.method, tt.path, tt.query)
			}
			if r.Token != "s.testtoken" {
				t.Errorf("X-Vault-Token = %q", r.Token)
			}
			jsonEqual(t, r.Body, tt.req)
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result = %#v, want %#v", got, tt.want)
			}
		})
	}
}
