package authz_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/authz"
)

// designPolicies are the product design's three policies, verbatim.
const designPolicies = `
permit(principal in Group::"developers", action == Action::"read", resource in Secret::"database/dev");
forbid(principal in Group::"developers", action == Action::"read", resource in Secret::"database/prod");
permit(principal == Service::"github-actions", action == Action::"generate", resource in Secret::"database/dynamic") when { context.ttl <= duration("1h") };
`

// extraPolicies cover the rest of the model: ids, action groups, nested
// groups and network ranges.
const extraPolicies = `
@id("ops-write")
permit(principal in Group::"ops", action in Action::"write", resource in Secret::"secret/data/ops");
@id("office-only")
permit(principal == User::"carol", action == Action::"read", resource in Secret::"secret/data/office")
  when { context.remote_addr.isInRange(ip("10.0.0.0/8")) };
@id("no-prod-for-devs")
forbid(principal in Group::"developers", action, resource in Secret::"database/prod");
permit(principal in Group::"developers", action == Action::"read", resource in Secret::"database/prod");
`

func TestCedarModel(t *testing.T) {
	c := authz.NewCedar()
	if err := c.Load(authz.Documents{Cedar: map[string]string{"design": designPolicies, "extra": extraPolicies}}); err != nil {
		t.Fatal(err)
	}
	dev := authz.Principal{Accessor: "a1", EntityName: "alice", EntityType: "User", Groups: map[string][]string{"developers": nil}}
	ci := authz.Principal{Accessor: "a2", EntityName: "github-actions", EntityType: "Service"}
	// bob is in sre, which is inside ops: nested groups.
	sre := authz.Principal{Accessor: "a3", EntityName: "bob", EntityType: "User", Groups: map[string][]string{"sre": {"ops"}, "ops": nil}}
	carol := authz.Principal{Accessor: "a4", EntityName: "carol"}
	anon := authz.Principal{Accessor: "a5"}
	root := authz.Principal{Root: true}
	now := time.Now()
	tests := []struct {
		name    string
		req     authz.Request
		allowed bool
		by      string // a policy id that must be among the deciding ones
	}{
		{"developer reads dev", authz.Request{Principal: dev, Operation: "read", Path: "database/dev/creds/app"}, true, "design.0"},
		{"developer reads prod: the forbid wins over the permit", authz.Request{Principal: dev, Operation: "read", Path: "database/prod/creds/app"}, false, "design.1"},
		{"developer writes dev: no permit", authz.Request{Principal: dev, Operation: "update", Path: "database/dev/creds/app"}, false, ""},
		{"ci generates within 1h", authz.Request{Principal: ci, Operation: "read", Action: "generate", Path: "database/dynamic/creds/ci", TTL: 30 * time.Minute, HasTTL: true}, true, "design.2"},
		{"ci generates for 2h", authz.Request{Principal: ci, Operation: "read", Action: "generate", Path: "database/dynamic/creds/ci", TTL: 2 * time.Hour, HasTTL: true}, false, ""},
		{"ci without a ttl: the condition errs, the policy is skipped", authz.Request{Principal: ci, Operation: "read", Action: "generate", Path: "database/dynamic/creds/ci"}, false, ""},
		{"nested group, action group", authz.Request{Principal: sre, Operation: "patch", Path: "secret/data/ops/deploy"}, true, "ops-write"},
		{"nested group, action outside the group", authz.Request{Principal: sre, Operation: "delete", Path: "secret/data/ops/deploy"}, false, ""},
		{"prefix is not a path segment", authz.Request{Principal: sre, Operation: "update", Path: "secret/data/opsx/deploy"}, false, ""},
		{"in the office range", authz.Request{Principal: carol, Operation: "read", Path: "secret/data/office/wifi", RemoteAddr: "10.1.2.3"}, true, "office-only"},
		{"outside the office range", authz.Request{Principal: carol, Operation: "read", Path: "secret/data/office/wifi", RemoteAddr: "192.0.2.1"}, false, ""},
		{"a token without an entity: default deny", authz.Request{Principal: anon, Operation: "read", Path: "database/dev/x"}, false, ""},
		{"root bypasses", authz.Request{Principal: root, Operation: "delete", Path: "database/prod/x"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Time = now
			d, err := c.Authorize(context.Background(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.allowed {
				t.Fatalf("allowed = %v (policies %v, errors %v), want %v", d.Allowed, d.PolicyIDs, d.Errors, tt.allowed)
			}
			if tt.by != "" && !slices.Contains(d.PolicyIDs, tt.by) {
				t.Fatalf("decided by %v, want %s among them", d.PolicyIDs, tt.by)
			}
			if !d.Allowed && d.Reason == "" {
				t.Fatal("a denial without a reason")
			}
		})
	}
}

// TestCedarEvaluationErrorsAreReported: a condition that cannot be
// evaluated (no ttl in the context) skips its policy and says why.
func TestCedarEvaluationErrorsAreReported(t *testing.T) {
	c := authz.NewCedar()
	if err := c.Load(authz.Documents{Cedar: map[string]string{"design": designPolicies}}); err != nil {
		t.Fatal(err)
	}
	d, err := c.Authorize(context.Background(), &authz.Request{Principal: authz.Principal{EntityName: "github-actions", EntityType: "Service"},
		Operation: "read", Action: "generate", Path: "database/dynamic/creds/ci", Time: time.Now()})
	if err != nil || d.Allowed || len(d.Errors) == 0 || !strings.Contains(strings.Join(d.Errors, " "), "ttl") {
		t.Fatalf("decision %+v, %v: want a denial reporting the ttl evaluation error", d, err)
	}
}

func TestCedarLoadKeepsTheOldSetOnError(t *testing.T) {
	c := authz.NewCedar()
	if err := c.Load(authz.Documents{Cedar: map[string]string{"design": designPolicies}}); err != nil {
		t.Fatal(err)
	}
	req := authz.Request{Principal: authz.Principal{EntityName: "alice", Groups: map[string][]string{"developers": nil}}, Operation: "read", Path: "database/dev/x", Time: time.Now()}
	for name, doc := range map[string]string{
		"syntax":    `permit(principal, action, resource`,
		"duplicate": `@id("x") permit(principal, action, resource); @id("x") forbid(principal, action, resource);`,
	} {
		err := c.Load(authz.Documents{Cedar: map[string]string{"design": designPolicies, "bad": doc}})
		if !errors.Is(err, authz.ErrBadPolicy) || !strings.Contains(err.Error(), "bad") {
			t.Fatalf("%s: %v, want ErrBadPolicy naming the document", name, err)
		}
		if d, _ := c.Authorize(context.Background(), &req); !d.Allowed {
			t.Fatalf("%s: the old set is no longer in force", name)
		}
	}
	if err := c.Load(authz.Documents{}); err != nil {
		t.Fatal(err)
	}
	if d, _ := c.Authorize(context.Background(), &req); d.Allowed {
		t.Fatal("an empty set allowed a request (want default deny)")
	}
}

func BenchmarkCedarAuthorize(b *testing.B) {
	c := authz.NewCedar()
	if err := c.Load(authz.Documents{Cedar: map[string]string{"design": designPolicies, "extra": extraPolicies}}); err != nil {
		b.Fatal(err)
	}
	req := authz.Request{Principal: authz.Principal{Accessor: "a", EntityName: "alice", Groups: map[string][]string{"developers": nil}},
		Operation: "read", Path: "database/dev/creds/app", RemoteAddr: "10.0.0.1", Time: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if d, err := c.Authorize(context.Background(), &req); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}

// attrPolicies read every attribute of the model.
const attrPolicies = `
@id("shape")
permit(principal, action, resource) when {
  resource.path == "a/x/cat/" && resource.depth == 4 && resource.seg.s0 == "a" && resource.seg.s3 == "" &&
  resource.rest.r2 like "c*" && !(resource.seg has s4) &&
  principal.policies.contains("dev") && principal.hasTag("team") && principal.getTag("team") == "pay" &&
  context.sudo == false
};
@id("group-tag")
permit(principal in Group::"ops", action, resource == Secret::"g") when {
  Group::"ops".hasTag("tier") && Group::"ops".getTag("tier") == "1"
};`

// TestCedarAttributes: the principal's policies and tags, a group's tags,
// the resource's path, depth, seg and rest, and context.sudo.
func TestCedarAttributes(t *testing.T) {
	c := authz.NewCedar()
	err := c.Load(authz.Documents{Cedar: map[string]string{"attrs": attrPolicies}})
	if err != nil {
		t.Fatal(err)
	}
	p := authz.Principal{Accessor: "a", Policies: []string{"default", "dev"}, Metadata: map[string]string{"team": "pay"},
		Groups: map[string][]string{"ops": nil}, GroupMetadata: map[string]map[string]string{"ops": {"tier": "1"}}}
	tests := []struct {
		req     authz.Request
		allowed bool
	}{
		{authz.Request{Principal: p, Operation: "read", Path: "/a/x/cat/"}, true},
		{authz.Request{Principal: p, Operation: "read", Path: "a/x/cat/", Sudo: true}, false},
		{authz.Request{Principal: p, Operation: "read", Path: "a/x/dog/"}, false},
		{authz.Request{Principal: authz.Principal{Accessor: "b", Policies: []string{"dev"}}, Operation: "read", Path: "a/x/cat/"}, false},
		{authz.Request{Principal: p, Operation: "read", Path: "g"}, true},
	}
	for _, tt := range tests {
		tt.req.Time = time.Now()
		d, err := c.Authorize(context.Background(), &tt.req)
		if err != nil || d.Allowed != tt.allowed {
			t.Errorf("%s sudo=%v: %+v, %v; want allowed=%v", tt.req.Path, tt.req.Sudo, d, err, tt.allowed)
		}
	}
}

// TestCedarConcurrentLoad: requests decided while sets are swapped see
// one set or the other (run with -race).
func TestCedarConcurrentLoad(t *testing.T) {
	c := authz.NewCedar()
	a := authz.Documents{Cedar: map[string]string{"design": designPolicies}}
	b := authz.Documents{ACL: map[string]string{"dev": aclDev}}
	if err := c.Load(a); err != nil {
		t.Fatal(err)
	}
	req := authz.Request{Principal: authz.Principal{EntityName: "alice", Policies: []string{"dev"}, Groups: map[string][]string{"developers": nil}},
		Operation: "read", Path: "database/dev/x", Time: time.Now()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			docs := a
			if i%2 == 1 {
				docs = b
			}
			if err := c.Load(docs); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		d, err := c.Authorize(context.Background(), &req)
		if err != nil || (d.Allowed && !slices.Equal(d.PolicyIDs, []string{"design.0"})) {
			t.Fatalf("%+v, %v", d, err)
		}
	}
}
