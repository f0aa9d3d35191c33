package authz_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/authz"
)

// The documents of TestVeto: an ACL document "dev" permits reading
// app/* and vetoes what its deciding path app/db does not grant (read);
// it denies app/private outright; a Cedar document permits reading
// app/* and shared/*.
const (
	vetoACL = `
@id("app") permit(principal, action == Action::"read", resource in Secret::"app")
  when { principal.policies.contains("dev") };
@id("db") @veto("acl") forbid(principal, action == Action::"read", resource in Secret::"app/db")
  when { principal.policies.contains("dev") };
@id("private") forbid(principal, action, resource in Secret::"app/private")
  when { principal.policies.contains("dev") };
@id("shared-veto") @veto("acl") forbid(principal, action, resource in Secret::"shared")
  when { principal.policies.contains("dev") };
`
	vetoCedar = `
@id("ops-app") permit(principal, action == Action::"read", resource in Secret::"app")
  when { principal.hasTag("team") && principal.getTag("team") == "ops" };
@id("ops-shared") permit(principal, action == Action::"read", resource in Secret::"shared")
  when { principal.hasTag("team") && principal.getTag("team") == "ops" };
`
)

// TestVeto: a veto blocks only ACL permits; an ordinary forbid of an
// ACL document blocks every permit. PolicyIDs name what decided, and
// Explain agrees with Authorize.
func TestVeto(t *testing.T) {
	c := authz.NewCedar()
	if err := c.Load(authz.Documents{Cedar: map[string]string{"ops": vetoCedar}, ACL: map[string]string{"dev": vetoACL}}); err != nil {
		t.Fatal(err)
	}
	dev := authz.Principal{Accessor: "a1", Policies: []string{"dev"}}
	ops := authz.Principal{Accessor: "a2", Policies: []string{"dev"}, Metadata: map[string]string{"team": "ops"}}
	tests := []struct {
		name      string
		who       authz.Principal
		path      string
		allowed   bool
		policyIDs []string
	}{
		{"ACL permit alone", dev, "app/x", true, []string{"acl:dev:app"}},
		{"ACL permit and Cedar permit", ops, "app/x", true, []string{"acl:dev:app", "ops-app"}},
		{"ACL permit + veto: denied by the veto", dev, "app/db/x", false, []string{"acl:dev:db"}},
		{"Cedar permit + ACL veto: allowed by the Cedar permit alone", ops, "app/db/x", true, []string{"ops-app"}},
		{"veto without any permit: denied by the veto", dev, "shared/x", false, []string{"acl:dev:shared-veto"}},
		{"Cedar permit + veto, no ACL permit", ops, "shared/x", true, []string{"ops-shared"}},
		{"ACL deny (ordinary forbid) + Cedar permit: denied", ops, "app/private/x", false, []string{"acl:dev:private"}},
		{"ACL deny + ACL permit: denied", dev, "app/private/x", false, []string{"acl:dev:private"}},
		{"nothing matches: default deny", dev, "other/x", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := authz.Request{Principal: tt.who, Operation: "read", Path: tt.path}
			d, err := c.Authorize(context.Background(), &req)
			if err != nil || len(d.Errors) > 0 {
				t.Fatalf("Authorize: %v %v", err, d.Errors)
			}
			if d.Allowed != tt.allowed || !slices.Equal(d.PolicyIDs, tt.policyIDs) {
				t.Fatalf("allowed %v by %v, want %v by %v", d.Allowed, d.PolicyIDs, tt.allowed, tt.policyIDs)
			}
			if !d.Allowed && len(tt.policyIDs) > 0 && d.Reason != "forbidden by "+strings.Join(tt.policyIDs, ", ") {
				t.Fatalf("reason %q", d.Reason)
			}
			x, err := c.Explain(context.Background(), &req)
			if err != nil {
				t.Fatal(err)
			}
			if x.Allowed != d.Allowed || !slices.Equal(x.PolicyIDs, d.PolicyIDs) {
				t.Fatalf("Explain: allowed %v by %v, Authorize %v by %v", x.Allowed, x.PolicyIDs, d.Allowed, d.PolicyIDs)
			}
		})
	}
}

// TestVetoRefused: @veto is refused in a Cedar document, on a permit and
// with any value but "acl"; nothing changes.
func TestVetoRefused(t *testing.T) {
	const guard = ` when { principal.policies.contains("dev") };`
	for _, tt := range []struct {
		name string
		docs authz.Documents
		msg  string
	}{
		{"in a Cedar document", authz.Documents{Cedar: map[string]string{"c": `@veto("acl") forbid(principal, action, resource);`}}, "only in ACL documents"},
		{"on a permit", authz.Documents{ACL: map[string]string{"dev": `@veto("acl") permit(principal, action, resource)` + guard}}, "only on a forbid"},
		{"another value", authz.Documents{ACL: map[string]string{"dev": `@veto("all") forbid(principal, action, resource)` + guard}}, `the only veto is @veto("acl")`},
		{"no value", authz.Documents{ACL: map[string]string{"dev": `@veto forbid(principal, action, resource)` + guard}}, `the only veto is @veto("acl")`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := authz.NewCedar()
			if err := c.Load(authz.Documents{ACL: map[string]string{"dev": `permit(principal, action, resource)` + guard}}); err != nil {
				t.Fatal(err)
			}
			err := c.Load(tt.docs)
			var bad *authz.BadPolicyError
			if !errors.Is(err, authz.ErrBadPolicy) || !errors.As(err, &bad) || !strings.Contains(bad.Message, tt.msg) || bad.Line != 1 {
				t.Fatalf("Load: %v, want a BadPolicyError at line 1 saying %q", err, tt.msg)
			}
			d, err := c.Authorize(context.Background(), &authz.Request{Principal: authz.Principal{Policies: []string{"dev"}}, Operation: "read", Path: "x"})
			if err != nil || !d.Allowed {
				t.Fatalf("the old set is no longer in force: %+v %v", d, err)
			}
		})
	}
}
