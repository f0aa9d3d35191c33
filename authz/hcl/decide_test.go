package hcl_test

import (
	"context"
	"testing"

	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/authz/hcl"
)

// TestDecidersChosen: the cost rule makes the team paths that every
// broad glob would name decide themselves, and nothing else; Compile
// never does.
func TestDecidersChosen(t *testing.T) {
	pols := teamPolicies(t, 100, 10)
	plain, err := hcl.Compile(pols)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := hcl.CompileWith(pols, hcl.Options{DecidingForbids: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := deciders(plain); n != 0 {
		t.Fatalf("Compile wrote %d deciding forbids", n)
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
// Cedar-native permit: an HCL deny vetoes it in every mode; a deciding
// ACL path that merely grants less does not under Compile, but does
// through a deciding forbid until authz honours @veto("acl").
func TestCedarPermitAndACL(t *testing.T) {
	texts := map[string]string{"dev": `
path "secret/data/app/*" { capabilities = ["read", "list"] }
path "secret/data/app/db" { capabilities = ["list"] }
path "secret/data/app/private" { capabilities = ["deny"] }
`}
	native := map[string]string{"ops": `permit(principal, action, resource) when {
  context.operation == "read" && resource.path like "secret/data/app/*" };`}
	for _, tt := range []struct {
		mode             hcl.Options
		grantsLessAllows bool
	}{
		{hcl.Options{}, true},
		{hcl.ForcedDeciders(func(string) bool { return true }), false},
	} {
		c := authz.NewCedar()
		if err := c.Load(authz.Documents{Cedar: native, ACL: compileSetWith(t, texts, tt.mode)}); err != nil {
			t.Fatal(err)
		}
		ask := func(path string) bool {
			d, err := c.Authorize(context.Background(), &authz.Request{
				Principal: authz.Principal{Accessor: "a", Policies: []string{"dev"}}, Operation: "read", Path: path})
			if err != nil || len(d.Errors) > 0 {
				t.Fatalf("Authorize: %v %v", err, d.Errors)
			}
			return d.Allowed
		}
		if ask("secret/data/app/private") {
			t.Errorf("%+v: a Cedar permit overrode an HCL deny", tt.mode)
		}
		if got := ask("secret/data/app/db"); got != tt.grantsLessAllows {
			t.Errorf("%+v: read where the deciding ACL path grants only list: allowed %v, want %v", tt.mode, got, tt.grantsLessAllows)
		}
		if !ask("secret/data/app/x") {
			t.Errorf("%+v: read granted by both denied", tt.mode)
		}
	}
}
