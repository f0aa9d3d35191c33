package client_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/client"
)

func TestPolicyShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cedarText := "permit (principal, action == Action::\"read\", resource in Secret::\"secret\");"
	runShapes(t, []shapeCase{
		{
			name: "put cedar", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().PutCedarPolicy(ctx, "dev-read", cedarText) },
			method: "PUT", path: "/v1/sys/policies/cedar/dev-read",
			req: `{"policy":"permit (principal, action == Action::\"read\", resource in Secret::\"secret\");"}`,
		},
		{
			name: "get cedar", status: 200,
			reply: `{"request_id":"r","data":{"name":"dev-read","policy":"permit (principal, action, resource);"}}`,
			call: func(c *client.Client) (any, error) {
				p, err := c.Sys().GetCedarPolicy(ctx, "dev-read")
				if err != nil {
					return nil, err
				}
				return *p, nil
			},
			method: "GET", path: "/v1/sys/policies/cedar/dev-read",
			want: client.CedarPolicy{Name: "dev-read", Policy: "permit (principal, action, resource);"},
		},
		{
			name: "get cedar without name", status: 200, reply: `{"data":{"policy":"p"}}`,
			call: func(c *client.Client) (any, error) {
				p, err := c.Sys().GetCedarPolicy(ctx, "x")
				if err != nil {
					return nil, err
				}
				return p.Name, nil
			},
			method: "GET", path: "/v1/sys/policies/cedar/x", want: "x",
		},
		{
			name: "delete cedar", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().DeleteCedarPolicy(ctx, "dev-read") },
			method: "DELETE", path: "/v1/sys/policies/cedar/dev-read",
		},
		{
			name: "list cedar", status: 200, reply: `{"data":{"keys":["a","b"]}}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().ListCedarPolicies(ctx) },
			method: "LIST", path: "/v1/sys/policies/cedar", want: []string{"a", "b"},
		},
		{
			name: "list cedar none", status: 404, reply: `{"errors":[]}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().ListCedarPolicies(ctx) },
			method: "LIST", path: "/v1/sys/policies/cedar", want: []string{},
		},
		{
			name: "cedar schema", status: 200, reply: `{"data":{"schema":"entity User;"}}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().CedarSchema(ctx) },
			method: "GET", path: "/v1/sys/policies/cedar-schema", want: "entity User;",
		},
		{
			name: "put acl", status: 204,
			call: func(c *client.Client) (any, error) {
				return nil, c.Sys().PutACLPolicy(ctx, "dev", `path "secret/*" { capabilities = ["read"] }`)
			},
			method: "PUT", path: "/v1/sys/policies/acl/dev",
			req: `{"policy":"path \"secret/*\" { capabilities = [\"read\"] }"}`,
		},
		{
			name: "get acl with cedar", status: 200,
			reply: `{"data":{"name":"dev","policy":"path \"a\" {}","cedar":"permit (principal, action, resource);"}}`,
			call: func(c *client.Client) (any, error) {
				p, err := c.Sys().GetACLPolicy(ctx, "dev")
				if err != nil {
					return nil, err
				}
				return *p, nil
			},
			method: "GET", path: "/v1/sys/policies/acl/dev",
			want: client.ACLPolicy{Name: "dev", Policy: `path "a" {}`, Cedar: "permit (principal, action, resource);"},
		},
		{
			name: "delete acl", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().DeleteACLPolicy(ctx, "dev") },
			method: "DELETE", path: "/v1/sys/policies/acl/dev",
		},
		{
			name: "list acl", status: 200, reply: `{"data":{"keys":["default","dev"]}}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().ListACLPolicies(ctx) },
			method: "LIST", path: "/v1/sys/policies/acl", want: []string{"default", "dev"},
		},
		{
			name: "legacy list", status: 200, reply: `{"policies":["default","root"],"keys":["default","root"]}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().ListPolicies(ctx) },
			method: "GET", path: "/v1/sys/policy", want: []string{"default", "root"},
		},
		{
			name: "legacy list keys only", status: 200, reply: `{"request_id":"r","data":{"keys":["default"]}}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().ListPolicies(ctx) },
			method: "GET", path: "/v1/sys/policy", want: []string{"default"},
		},
	})
}

func TestPolicyErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name         string
		status       int
		reply        string
		put          func(c *client.Client) error
		wantPolicy   bool
		line, column int
		wantIn       string
		is           error
	}{
		{name: "cedar parse error", status: 400,
			reply:      `{"errors":["parse error at line 3, column 7: expected ;"]}`,
			put:        func(c *client.Client) error { return c.Sys().PutCedarPolicy(ctx, "p", "permit (") },
			wantPolicy: true, line: 3, column: 7, is: client.ErrInvalidRequest,
			wantIn: `write cedar policy p: invalid policy: parse error at line 3, column 7: expected ;`},
		{name: "acl error without position", status: 400, reply: `{"errors":["unknown capability \"fly\""]}`,
			put:        func(c *client.Client) error { return c.Sys().PutACLPolicy(ctx, "p", `path "a" {}`) },
			wantPolicy: true, is: client.ErrInvalidRequest, wantIn: `unknown capability "fly"`},
		{name: "second message carries position", status: 400,
			reply:      `{"errors":["2 errors","Line 10 col 2: bad"]}`,
			put:        func(c *client.Client) error { return c.Sys().PutACLPolicy(ctx, "p", "x") },
			wantPolicy: true, line: 10, column: 2, is: client.ErrInvalidRequest},
		{name: "forbidden is not a policy error", status: 403, reply: `{"errors":["permission denied"]}`,
			put: func(c *client.Client) error { return c.Sys().PutCedarPolicy(ctx, "p", "x") },
			is:  client.ErrPermissionDenied, wantIn: "403 Forbidden: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, tt.status, tt.reply)
			err := tt.put(f.client(t))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			var re *client.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tt.status {
				t.Errorf("no *ResponseError with status %d in %v", tt.status, err)
			}
			var pe *client.PolicyError
			if got := errors.As(err, &pe); got != tt.wantPolicy {
				t.Fatalf("errors.As PolicyError = %v, want %v (%v)", got, tt.wantPolicy, err)
			}
			if pe != nil && (pe.Line != tt.line || pe.Column != tt.column || pe.Name != "p") {
				t.Errorf("position %d:%d name %q, want %d:%d p", pe.Line, pe.Column, pe.Name, tt.line, tt.column)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not contain %q", err, tt.wantIn)
			}
		})
	}
}

func TestPolicyArgumentsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFakeVault(t, 204, "")
	c := f.client(t)
	calls := map[string]func() error{
		"empty name":      func() error { return c.Sys().PutCedarPolicy(ctx, "", "permit (principal, action, resource);") },
		"slash in name":   func() error { return c.Sys().DeleteACLPolicy(ctx, "a/b") },
		"dot dot":         func() error { _, err := c.Sys().GetACLPolicy(ctx, ".."); return err },
		"spaces":          func() error { _, err := c.Sys().GetCedarPolicy(ctx, " a"); return err },
		"empty text":      func() error { return c.Sys().PutACLPolicy(ctx, "a", " \n") },
		"explain no path": func() error { _, err := c.Sys().Explain(ctx, &client.ExplainRequest{Operation: "read"}); return err },
		"explain no op":   func() error { _, err := c.Sys().Explain(ctx, &client.ExplainRequest{Path: "a"}); return err },
		"caps no paths":   func() error { _, err := c.Sys().CapabilitiesSelf(ctx); return err },
		"caps no token":   func() error { _, err := c.Sys().Capabilities(ctx, "", "a"); return err },
		"caps no acc":     func() error { _, err := c.Sys().CapabilitiesAccessor(ctx, "", "a"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, client.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) != 0 {
		t.Errorf("refused calls sent %d requests", len(f.reqs))
	}
}

func TestExplainAndCapabilitiesShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	explained := `{"request_id":"r","data":{"allowed":false,"reason":"forbidden by policy no-prod","policy_ids":["no-prod"],` +
		`"policies":[{"id":"no-prod","text":"forbid (principal, action, resource in Secret::\"prod\");"}],` +
		`"principal":"User::\"alice\"","groups":["Group::\"dev\""],"action":"read","resource":"Secret::\"prod/db\"",` +
		`"context":{"remote_addr":"10.0.0.1","ttl":3600},"errors":["policy x: type error"],"considered":4}}`
	runShapes(t, []shapeCase{
		{
			name: "explain full", status: 200, reply: explained,
			call: func(c *client.Client) (any, error) {
				e, err := c.Sys().Explain(ctx, &client.ExplainRequest{Path: "prod/db", Operation: "read", Action: "read",
					EntityName: "alice", RemoteAddr: "10.0.0.1", TTL: "1h"})
				if err != nil {
					return nil, err
				}
				return *e, nil
			},
			method: "POST", path: "/v1/sys/authz/explain",
			req: `{"path":"prod/db","operation":"read","action":"read","entity_name":"alice","remote_addr":"10.0.0.1","ttl":"1h"}`,
			want: client.Explanation{Allowed: false, Reason: "forbidden by policy no-prod", PolicyIDs: []string{"no-prod"},
				Policies:  []client.ExplainedPolicy{{ID: "no-prod", Text: `forbid (principal, action, resource in Secret::"prod");`}},
				Principal: `User::"alice"`, Groups: []string{`Group::"dev"`}, Action: "read", Resource: `Secret::"prod/db"`,
				Context: map[string]any{"remote_addr": "10.0.0.1", "ttl": float64(3600)}, Errors: []string{"policy x: type error"},
				Considered: 4},
		},
		{
			name: "explain token", status: 200, reply: `{"data":{"allowed":true,"policy_ids":["p"]}}`,
			call: func(c *client.Client) (any, error) {
				e, err := c.Sys().Explain(ctx, &client.ExplainRequest{Path: "a", Operation: "list", Token: "s.other"})
				if err != nil {
					return nil, err
				}
				return []any{e.Allowed, e.PolicyIDs}, nil
			},
			method: "POST", path: "/v1/sys/authz/explain", req: `{"path":"a","operation":"list","token":"s.other"}`,
			want: []any{true, []string{"p"}},
		},
		{
			name: "capabilities multi enveloped", status: 200,
			reply:  `{"request_id":"r","capabilities":["read"],"a/b":["read"],"c":["deny"],"data":{"capabilities":["read"],"a/b":["read","list"],"c":["deny"]}}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().Capabilities(ctx, "s.other", "a/b", "c") },
			method: "POST", path: "/v1/sys/capabilities", req: `{"token":"s.other","paths":["a/b","c"]}`,
			want: map[string][]string{"a/b": {"read", "list"}, "c": {"deny"}},
		},
		{
			name: "capabilities self single bare", status: 200, reply: `{"capabilities":["create","update"]}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().CapabilitiesSelf(ctx, "secret/x") },
			method: "POST", path: "/v1/sys/capabilities-self", req: `{"paths":["secret/x"]}`,
			want: map[string][]string{"secret/x": {"create", "update"}},
		},
		{
			name: "capabilities accessor missing path", status: 200, reply: `{"data":{"a":["read"]}}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().CapabilitiesAccessor(ctx, "acc1", "a", "b") },
			method: "POST", path: "/v1/sys/capabilities-accessor", req: `{"accessor":"acc1","paths":["a","b"]}`,
			want: map[string][]string{"a": {"read"}, "b": {}},
		},
	})
}

func TestCapabilitiesBadAnswer(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, 200, `{"data":{"a":"read"}}`)
	_, err := f.client(t).Sys().CapabilitiesSelf(context.Background(), "a")
	if err == nil || !strings.Contains(err.Error(), "decode capabilities") {
		t.Fatalf("a string instead of a list: %v", err)
	}
}

func TestExplainWithoutData(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, 200, `{"allowed":true}`)
	_, err := f.client(t).Sys().Explain(context.Background(), &client.ExplainRequest{Path: "a", Operation: "read"})
	if err == nil || !strings.Contains(err.Error(), "no data object") {
		t.Fatalf("answer without data: %v", err)
	}
	if !reflect.DeepEqual(f.last(t).Path, "/v1/sys/authz/explain") {
		t.Fatal("wrong path")
	}
}
