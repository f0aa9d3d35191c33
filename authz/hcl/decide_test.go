package hcl_test

import (
	"context"
	"testing"

	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/authz/hcl"
)

// TestDecidersChosen: Compile's cost rule makes the team paths that
// every broad glob would name decide themselves, and nothing else;
// Options.UnlessOnly never does.
func TestDecidersChosen(t *testing.T) {
	pols := teamPolicies(t, 100, 10)
	plain, err := hcl.CompileWith(pols, hcl.Options{UnlessOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	cost, err := hcl.Compile(pols)
	if err != nil {
		t.Fatal(err)
	}
	if n := deciders(plain); n != 0 {
		t.Fatalf("UnlessOnly wrote %d deciding forbids", n)
	}
	// Each team's prod/* and +/config paths would be named by the 10 broad
	// globs' permits (+/config also by its own team's tree, cheaply).
	if n := deciders(cost); n != 2*100 {
		t.Fatalf("%d deciding forbids, want %d", n, 2*100)
	}
	validateDocs(t, cost)
	if size(cost) >= size(plain) {
		t.Fatalf("deciding forbids emit %d bytes, unless clauses %d", size(cost), size(plain))
	}
}

func size(docs map[string]string) int {
	n := 0
	for _, d := range docs {
		n += len(d)
	}
	return n
}

// TestCedarPermitAndACL pins how ACL documents combine with a
// Cedar-native permit, in every mode: an HCL deny (an ordinary forbid)
// blocks it; a deciding ACL path that merely grants less does not (its
// veto blocks only ACL permits), while it still denies the token what
// only the broader ACL path would grant.
func TestCedarPermitAndACL(t *testing.T) {
	texts := map[string]string{"dev": `
path "secret/data/app/*" { capabilities = ["read", "list"] }
path "secret/data/app/db" { capabilities = ["list"] }
path "secret/data/app/private" { capabilities = ["deny"] }
`}
	native := map[string]string{"ops": `permit(principal, action, resource) when {
  principal.hasTag("team") && principal.getTag("team") == "ops" &&
  context.operation == "read" && resource.path like "secret/data/app/*" };`}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			docs := compileSetWith(t, texts, m.opts)
			if m.name == "forbids" && deciders(docs) == 0 {
				t.Fatal("no veto to test")
			}
			c := authz.NewCedar()
			if err := c.Load(authz.Documents{Cedar: native, ACL: docs}); err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				name, path string
				ops, want  bool // ops: the token's entity is tagged team=ops
			}{
				{"a Cedar permit does not override an HCL deny", "secret/data/app/private", true, false},
				{"a deciding ACL path granting less does not block a Cedar permit", "secret/data/app/db", true, true},
				{"a deciding ACL path granting less denies without a Cedar permit", "secret/data/app/db", false, false},
				{"granted by both", "secret/data/app/x", true, true},
				{"granted by the ACL alone", "secret/data/app/x", false, true},
			} {
				p := authz.Principal{Accessor: "a", Policies: []string{"dev"}}
				if tt.ops {
					p.Metadata = map[string]string{"team": "ops"}
				}
				d, err := c.Authorize(context.Background(), &authz.Request{Principal: p, Operation: "read", Path: tt.path})
				if err != nil || len(d.Errors) > 0 {
					t.Fatalf("Authorize: %v %v", err, d.Errors)
				}
				if d.Allowed != tt.want {
					t.Errorf("%s: allowed %v (by %v)", tt.name, d.Allowed, d.PolicyIDs)
				}
			}
		})
	}
}
