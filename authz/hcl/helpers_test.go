package hcl_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/authz/hcl"
)

// loadACL loads compiled HCL documents as ACL documents (validated by
// Load against the schema, with the policy guard checked).
func loadACL(c *authz.Cedar, docs map[string]string) error {
	return c.Load(authz.Documents{ACL: docs})
}

var (
	validatorOnce sync.Once
	validator     *validate.Validator
	validatorErr  error
)

// schemaValidator is a strict validator of authz/schema.cedarschema.
func schemaValidator(t testing.TB) *validate.Validator {
	t.Helper()
	validatorOnce.Do(func() {
		text, err := os.ReadFile("../schema.cedarschema")
		if err != nil {
			validatorErr = err
			return
		}
		var s schema.Schema
		if err := s.UnmarshalCedar(text); err != nil {
			validatorErr = err
			return
		}
		r, err := s.Resolve()
		if err != nil {
			validatorErr = err
			return
		}
		validator = validate.New(r)
	})
	if validatorErr != nil {
		t.Fatalf("schema: %v", validatorErr)
	}
	return validator
}

// validateDocs parses every document and validates each policy against
// the schema.
func validateDocs(t testing.TB, docs map[string]string) {
	t.Helper()
	if err := checkDocs(schemaValidator(t), docs); err != nil {
		t.Fatal(err)
	}
}

func checkDocs(v *validate.Validator, docs map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		if err := authz.ValidateACLDocument(name, docs[name]); err != nil {
			return err
		}
		list, err := cedar.NewPolicyListFromBytes(name, []byte(docs[name]))
		if err != nil {
			return fmt.Errorf("document %q does not parse: %v\n%s", name, err, docs[name])
		}
		for i, p := range list {
			id := fmt.Sprintf("%s.%d", name, i)
			if a, ok := p.Annotations()["id"]; ok {
				id = string(a)
			}
			if err := v.Policy(id, (*xast.Policy)(p.AST())); err != nil {
				return fmt.Errorf("policy %s does not validate: %v\n%s", id, err, p.MarshalCedar())
			}
		}
	}
	return nil
}

// TestValidatorRejects proves the schema check can fail.
func TestValidatorRejects(t *testing.T) {
	v := schemaValidator(t)
	for _, d := range []string{
		`permit(principal, action, resource) when { principal.policies.contains("x") && resource.seg.s2 == "x" };`,
		`permit(principal, action, resource) when { principal.policies.contains("x") && context.nope == "x" };`,
		`permit(principal, action, resource) when { principal.policies.contains("x") && principal.policies.contains(1) };`,
		`permit(principal, action, resource) when { resource.path == "a" };`, // no guard
	} {
		if err := checkDocs(v, map[string]string{"x": d}); err == nil {
			t.Errorf("%s validated", d)
		}
	}
}

// compileSetWith parses name → HCL text and compiles the set with opts.
func compileSetWith(t testing.TB, texts map[string]string, opts hcl.Options) map[string]string {
	t.Helper()
	pols := map[string]*hcl.Policy{}
	for name, text := range texts {
		p, err := hcl.Parse(name, text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", name, err)
		}
		pols[name] = p
	}
	docs, err := hcl.CompileWith(pols, opts)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return docs
}

// authorizer compiles, validates and loads texts.
func authorizer(t testing.TB, texts map[string]string) *authz.Cedar {
	t.Helper()
	return load(t, texts, true)
}

func load(t testing.TB, texts map[string]string, validate bool) *authz.Cedar {
	t.Helper()
	return loadWith(t, texts, validate, hcl.Options{})
}

// loadWith is load with compile options.
func loadWith(t testing.TB, texts map[string]string, validate bool, opts hcl.Options) *authz.Cedar {
	t.Helper()
	docs := compileSetWith(t, texts, opts)
	if validate {
		validateDocs(t, docs)
	}
	c := authz.NewCedar()
	if err := loadACL(c, docs); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// allowed asks c about one request of a token holding policies.
func allowed(t testing.TB, c *authz.Cedar, policies []string, op, path string, sudo bool) bool {
	t.Helper()
	d, err := c.Authorize(context.Background(), &authz.Request{
		Principal: authz.Principal{Accessor: "acc", Policies: policies},
		Operation: op, Path: path, Sudo: sudo, MountType: "kv",
	})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if len(d.Errors) > 0 {
		t.Fatalf("evaluation errors on %s %s: %v", op, path, d.Errors)
	}
	return d.Allowed
}

// modes are the ways of enforcing priority every semantic test runs
// under: unless clauses only; the cost rule (Compile's); every named path
// deciding itself; and a mix (paths of odd length decide themselves).
// forced says the mode's sets must contain deciding forbids.
var modes = []struct {
	name   string
	opts   hcl.Options
	forced bool
}{
	{"unless", hcl.Options{UnlessOnly: true}, false},
	{"cost", hcl.Options{}, false},
	{"forbids", hcl.ForcedDeciders(func(string) bool { return true }), true},
	{"mixed", hcl.ForcedDeciders(func(p string) bool { return len(p)%2 == 1 }), true},
}

// deciders counts the deciding forbids of docs.
func deciders(docs map[string]string) int {
	n := 0
	for _, d := range docs {
		n += strings.Count(d, `@veto("acl")`)
	}
	return n
}
