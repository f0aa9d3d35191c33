package authz_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/authz"
)

func TestSchemaIsServed(t *testing.T) {
	s := authz.Schema()
	for _, want := range []string{"entity Secret in [Secret]", "ttl?: duration", `action create, update, patch in ["write"]`} {
		if !strings.Contains(s, want) {
			t.Errorf("Schema() lacks %q", want)
		}
	}
}

// TestValidateDocumentAcceptsTheModel: the design's policies and those of
// the other tests validate.
func TestValidateDocumentAcceptsTheModel(t *testing.T) {
	for name, doc := range map[string]string{"design": designPolicies, "extra": extraPolicies, "attrs": attrPolicies} {
		if err := authz.ValidateDocument(name, doc); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateDocumentRejects(t *testing.T) {
	tests := []struct {
		name, doc    string
		line, column int
		msg          string
	}{
		{"syntax error", "permit(principal, action, resource);\npermit(principal, action resource);", 2, 34, "parse error near"},
		{"unknown action", "permit(principal, action, resource);\n\npermit(principal,\n  action == Action::\"reed\", resource);", 4, 13, "unrecognized action `Action::\"reed\"`"},
		{"unknown entity type", "permit(principal == Usr::\"alice\", action, resource);", 1, 21, "unrecognized entity type `Usr`"},
		{"unknown attribute", "permit(principal, action, resource)\n  when { resource.owner == \"x\" };", 2, 19, "attribute `owner` on entity type `Secret` not found"},
		{"unknown attribute of a record", "permit(principal, action, resource)\n  when { resource.seg.x0 == \"x\" };", 2, 23, "attribute `seg.x0` on entity type `Secret` not found"},
		{"type error", "permit(principal, action, resource) when { resource.depth == \"2\" || resource.depth + 1 };", 1, 1, "are not compatible"},
		{"unknown context attribute", "permit(principal, action == Action::\"read\", resource) when { context.colour == \"red\" };", 1, 70, "attribute `colour` in context"},
		{"unguarded optional attribute in a forbid", "forbid(principal, action, resource)\n  unless { context.remote_addr.isInRange(ip(\"10.0.0.0/8\")) };", 2, 20, "optional attribute `remote_addr`"},
		{"id used twice", "@id(\"x\") permit(principal, action, resource);\n@id(\"x\") forbid(principal, action, resource);", 2, 1, `policy id "x" is used twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := authz.ValidateDocument("dev", tt.doc)
			if !errors.Is(err, authz.ErrBadPolicy) {
				t.Fatalf("%v, want ErrBadPolicy", err)
			}
			var bad *authz.BadPolicyError
			if !errors.As(err, &bad) {
				t.Fatalf("%T, want *BadPolicyError", err)
			}
			if bad.Doc != "dev" || bad.Line != tt.line || bad.Column != tt.column || !strings.Contains(bad.Message, tt.msg) {
				t.Fatalf("%v (line %d, column %d), want line %d, column %d: ...%s...", err, bad.Line, bad.Column, tt.line, tt.column, tt.msg)
			}
			prefix := `cedar: doc "dev": line `
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("%q, want it to start with %q", err, prefix)
			}
		})
	}
}

// TestLoadRejectsInvalidPolicies: Load validates as ValidateDocument does
// and keeps the old set.
func TestLoadRejectsInvalidPolicies(t *testing.T) {
	c := authz.NewCedar()
	if err := c.Load(authz.Documents{Cedar: map[string]string{"design": designPolicies}}); err != nil {
		t.Fatal(err)
	}
	err := c.Load(authz.Documents{Cedar: map[string]string{"design": designPolicies, "dev": `permit(principal, action == Action::"reed", resource);`}})
	if !errors.Is(err, authz.ErrBadPolicy) || !strings.Contains(err.Error(), `doc "dev": line 1, column 29`) {
		t.Fatalf("%v, want ErrBadPolicy at dev 1:29", err)
	}
	req := authz.Request{Principal: authz.Principal{EntityName: "alice", Groups: map[string][]string{"developers": nil}}, Operation: "read", Path: "database/dev/x", Time: time.Now()}
	if d, _ := c.Authorize(context.Background(), &req); !d.Allowed {
		t.Fatal("the old set is no longer in force")
	}
}

// aclDev is what authz/hcl could compile path "secret/data/dev/*" {
// capabilities = ["read"] } and a deny on dev/locked into.
const aclDev = `
@id("read-dev")
permit(principal, action == Action::"read", resource in Secret::"secret/data/dev")
  when { principal.policies.contains("dev") };
forbid(principal, action, resource in Secret::"secret/data/dev/locked")
  when { principal.policies.contains("dev") && context.sudo == false };
`

func TestLoadACLDocuments(t *testing.T) {
	c := authz.NewCedar()
	if err := c.Load(authz.Documents{ACL: map[string]string{"dev": aclDev}}); err != nil {
		t.Fatal(err)
	}
	holder := authz.Principal{Accessor: "a", Policies: []string{"default", "dev"}}
	other := authz.Principal{Accessor: "b", Policies: []string{"default"}}
	tests := []struct {
		name    string
		req     authz.Request
		allowed bool
		ids     string
	}{
		{"a holder reads", authz.Request{Principal: holder, Operation: "read", Path: "secret/data/dev/app"}, true, "acl:dev:read-dev"},
		{"a holder hits the deny", authz.Request{Principal: holder, Operation: "read", Path: "secret/data/dev/locked/x"}, false, "acl:dev:1"},
		{"a token without the policy", authz.Request{Principal: other, Operation: "read", Path: "secret/data/dev/app"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Time = time.Now()
			d, err := c.Authorize(context.Background(), &tt.req)
			if err != nil || d.Allowed != tt.allowed || strings.Join(d.PolicyIDs, ",") != tt.ids {
				t.Fatalf("%+v, %v; want allowed=%v by %q", d, err, tt.allowed, tt.ids)
			}
		})
	}
	if text, ok := c.Policy("acl:dev:read-dev"); !ok || !strings.Contains(text, `principal.policies.contains("dev")`) {
		t.Fatalf("Policy(acl:dev:read-dev) = %q, %v", text, ok)
	}
	if _, ok := c.Policy("read-dev"); ok {
		t.Fatal("an ACL policy is known by its bare @id")
	}
}

func TestLoadACLRules(t *testing.T) {
	tests := []struct {
		name string
		docs authz.Documents
		msg  string
	}{
		{"no guard", authz.Documents{ACL: map[string]string{"dev": `permit(principal, action, resource);`}}, `acl "dev": line 1, column 1: policy lacks the guard`},
		{"the guard of another policy", authz.Documents{ACL: map[string]string{"dev": `permit(principal, action, resource) when { principal.policies.contains("ops") };`}}, "lacks the guard"},
		{"the guard under an or", authz.Documents{ACL: map[string]string{"dev": `permit(principal, action, resource) when { principal.policies.contains("dev") || true };`}}, "lacks the guard"},
		{"the guard in unless", authz.Documents{ACL: map[string]string{"dev": `permit(principal, action, resource) unless { principal.policies.contains("dev") };`}}, "lacks the guard"},
		{"ids collide across documents", authz.Documents{
			Cedar: map[string]string{"ops": `@id("acl:dev:0") permit(principal, action, resource);`},
			ACL:   map[string]string{"dev": `permit(principal, action, resource) when { principal.policies.contains("dev") };`}}, `policy id "acl:dev:0" is also used in doc "ops"`},
		{"ids collide across Cedar documents", authz.Documents{Cedar: map[string]string{
			"a": `@id("x") permit(principal, action, resource);`, "b": `@id("x") permit(principal, action, resource);`}}, `policy id "x" is also used`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := authz.NewCedar().Load(tt.docs)
			if !errors.Is(err, authz.ErrBadPolicy) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("%v, want ErrBadPolicy: ...%s...", err, tt.msg)
			}
		})
	}
	if err := authz.ValidateACLDocument("dev", aclDev); err != nil {
		t.Fatal(err)
	}
	if err := authz.ValidateACLDocument("ops", aclDev); !errors.Is(err, authz.ErrBadPolicy) {
		t.Fatalf("%v: a document guarded for dev validated as ops", err)
	}
}
