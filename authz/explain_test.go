package authz_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/authz"
)

func TestExplain(t *testing.T) {
	c := authz.NewCedar()
	if err := c.Load(authz.Documents{Cedar: map[string]string{"design": designPolicies, "extra": extraPolicies}, ACL: map[string]string{"dev": aclDev}}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dev := authz.Principal{Accessor: "a1", EntityName: "alice", EntityType: "User", Policies: []string{"default"},
		Groups: map[string][]string{"developers": {"staff"}, "staff": nil}}
	tests := []struct {
		name       string
		req        authz.Request
		allowed    bool
		ids        []string
		reason     string
		considered int
	}{
		{"permitted", authz.Request{Principal: dev, Operation: "read", Path: "database/dev/creds/app", RemoteAddr: "10.0.0.1"},
			true, []string{"design.0"}, "permitted by design.0", 1},
		{"forbidden", authz.Request{Principal: dev, Operation: "read", Path: "database/prod/creds/app"},
			false, []string{"design.1", "no-prod-for-devs"}, "forbidden by design.1, no-prod-for-devs", 3},
		{"default deny", authz.Request{Principal: dev, Operation: "delete", Path: "database/dev/creds/app"},
			false, nil, "no policy permits this request (default deny)", 0},
		{"an evaluation error", authz.Request{Principal: authz.Principal{EntityName: "github-actions", EntityType: "Service"}, Operation: "read", Action: "generate", Path: "database/dynamic/creds/ci"},
			false, nil, "no policy permits this request (default deny); 1 policies could not be evaluated and were skipped", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Time = at
			x, err := c.Explain(context.Background(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if x.Allowed != tt.allowed || !slices.Equal(x.PolicyIDs, tt.ids) || x.Reason != tt.reason || x.Considered != tt.considered {
				t.Fatalf("%+v\nwant allowed=%v ids=%v reason=%q considered=%d", x, tt.allowed, tt.ids, tt.reason, tt.considered)
			}
			d, _ := c.Authorize(context.Background(), &tt.req)
			if d.Allowed != x.Allowed || !slices.Equal(d.PolicyIDs, x.PolicyIDs) || !slices.Equal(d.Errors, x.Errors) {
				t.Fatalf("Explain %+v disagrees with Authorize %+v", x, d)
			}
			for _, id := range x.PolicyIDs {
				if text, ok := c.Policy(id); !ok || !strings.Contains(text, "principal") {
					t.Fatalf("Policy(%q) = %q, %v", id, text, ok)
				}
			}
		})
	}
	x, err := c.Explain(context.Background(), &authz.Request{Principal: dev, Operation: "read", Path: "/database/dev/creds/app", RemoteAddr: "10.0.0.1", MountType: "database", Time: at, TTL: time.Hour, HasTTL: true})
	if err != nil {
		t.Fatal(err)
	}
	if x.Principal != `User::"alice"` || x.Action != `Action::"read"` || x.Resource != `Secret::"database/dev/creds/app"` ||
		!slices.Equal(x.Groups, []string{`Group::"developers"`, `Group::"staff"`}) {
		t.Fatalf("uids %+v", x)
	}
	want := map[string]any{"operation": "read", "mount_type": "database", "sudo": false, "time": "2026-01-02T03:04:05.000Z",
		"remote_addr": "10.0.0.1", "ttl": "1h"}
	for k, v := range want {
		if x.Context[k] != v {
			t.Errorf("context %s = %#v, want %#v", k, x.Context[k], v)
		}
	}
	if len(x.Context) != len(want) {
		t.Errorf("context %v, want %v", x.Context, want)
	}
	root, err := c.Explain(context.Background(), &authz.Request{Principal: authz.Principal{Root: true}, Operation: "delete", Path: "sys/mounts/x"})
	if err != nil || !root.Allowed || root.Reason != "root token" {
		t.Fatalf("root: %+v, %v", root, err)
	}
}
