package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// clientFrom is Client(i, token) whose connections come from srcIP, so
// that a policy on context.remote_addr can tell clients apart.
func (c *Cluster) clientFrom(i int, token, srcIP string) *vault.Client {
	c.t.Helper()
	n, err := c.node(i)
	if err != nil {
		c.t.Fatal(err)
	}
	cfg := vault.DefaultConfig()
	cfg.Address = n.APIURL()
	cfg.MaxRetries = 0
	cfg.Timeout = 10 * time.Second
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(srcIP)}, Timeout: 5 * time.Second}
	cfg.HttpClient = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	cl, err := vault.NewClient(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	cl.SetToken(token)
	return cl
}

// authzPolicies are the Cedar policies of TestCedarOverHTTP: the design's
// three verbatim, and one of each remaining feature.
const authzPolicies = `
permit(principal in Group::"developers", action == Action::"read", resource in Secret::"database/dev");
forbid(principal in Group::"developers", action == Action::"read", resource in Secret::"database/prod");
permit(principal == Service::"github-actions", action == Action::"generate", resource in Secret::"database/dynamic") when { context.ttl <= duration("1h") };

@id("devs-may-read-prod")
permit(principal in Group::"developers", action == Action::"read", resource in Secret::"database/prod");
@id("ops-write")
permit(principal in Group::"ops", action in Action::"write", resource in Secret::"secret/data/ops");
@id("ops-read")
permit(principal in Group::"ops", action == Action::"read", resource in Secret::"secret/data/ops");
@id("office-network")
permit(principal == User::"carol", action == Action::"read", resource in Secret::"secret/data/office")
  when { context.remote_addr.isInRange(ip("127.0.0.99/32")) };
@id("short-ci-tokens")
permit(principal == Service::"github-actions", action == Action::"update", resource == Secret::"auth/token/create")
  when { context.ttl <= duration("1h") };
`

// TestCedarOverHTTP is the Cedar table over real HTTP requests to every
// node of a 3-node cluster (standbys forward): permit, forbid overriding
// permit, path hierarchy, groups, nested groups, IP ranges (the client's
// address, also through a standby), the ttl condition, action groups,
// root bypass and default deny; then a policy change takes effect on all
// three nodes.
func TestCedarOverHTTP(t *testing.T) {
	c, root := startKV(t, 3)
	leader := c.WaitLeader(30 * time.Second)
	admin := c.Client(leader, root)
	for _, m := range []string{"database/dev", "database/prod"} {
		if err := admin.Sys().Mount(m, &vault.MountInput{Type: "kv-v2"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for _, kv := range []struct{ mount, path string }{
		{"database/dev", "app"}, {"database/prod", "app"}, {"secret", "ops/deploy"}, {"secret", "office/wifi"}, {"secret", "other"},
	} {
		if _, err := admin.KVv2(kv.mount).Put(ctx, kv.path, map[string]any{"v": "1"}); err != nil {
			t.Fatalf("seed %s/%s: %v", kv.mount, kv.path, err)
		}
	}
	mustWrite(t, admin, "sys/auth/userpass", map[string]any{"type": "userpass"})
	mustWrite(t, admin, "sys/auth/approle", map[string]any{"type": "approle"})
	for _, u := range []string{"alice", "bob", "carol"} {
		mustWrite(t, admin, "auth/userpass/users/"+u, map[string]any{"password": u + "-password"})
	}
	mustWrite(t, admin, "auth/approle/role/github-actions", map[string]any{"token_ttl": "20m"})
	tokens := map[string]string{}
	entities := map[string]string{}
	for i, u := range []string{"alice", "bob", "carol"} {
		s, err := c.Client(i, "").Logical().Write("auth/userpass/login/"+u, map[string]any{"password": u + "-password"})
		if err != nil {
			t.Fatalf("login %s via node %d: %v", u, i, err)
		}
		tokens[u], entities[u] = s.Auth.ClientToken, s.Auth.EntityID
	}
	roleID := mustRead(t, admin, "auth/approle/role/github-actions/role-id").Data["role_id"]
	secretID := mustWrite(t, admin, "auth/approle/role/github-actions/secret-id", nil).Data["secret_id"]
	s, err := c.Client(2, "").Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil {
		t.Fatal(err)
	}
	tokens["ci"] = s.Auth.ClientToken
	// developers ∋ alice; ops ∋ sre ∋ bob (nested).
	mustWrite(t, admin, "identity/group", map[string]any{"name": "developers", "member_entity_ids": []string{entities["alice"]}})
	sre := mustWrite(t, admin, "identity/group", map[string]any{"name": "sre", "member_entity_ids": []string{entities["bob"]}}).Data["id"]
	mustWrite(t, admin, "identity/group", map[string]any{"name": "ops", "member_group_ids": []string{fmt.Sprint(sre)}})
	mustWrite(t, admin, "sys/policies/cedar/authz", map[string]any{"policy": authzPolicies})

	type call struct {
		name    string
		who     string
		op      string // read, write, token
		path    string
		data    map[string]any
		src     string
		allowed bool
	}
	table := []call{
		{"group permit", "alice", "read", "database/dev/data/app", nil, "", true},
		{"forbid overrides permit", "alice", "read", "database/prod/data/app", nil, "", false},
		{"hierarchy: outside the prefix", "alice", "read", "secret/data/other", nil, "", false},
		{"action == read only", "alice", "write", "database/dev/data/app", map[string]any{"data": map[string]any{"v": "2"}}, "", false},
		{"nested group, action group write", "bob", "write", "secret/data/ops/deploy", map[string]any{"data": map[string]any{"v": "2"}}, "", true},
		{"nested group read", "bob", "read", "secret/data/ops/deploy", nil, "", true},
		{"not in the group", "carol", "read", "secret/data/ops/deploy", nil, "", false},
		{"ip range: inside", "carol", "read", "secret/data/office/wifi", nil, "127.0.0.99", true},
		{"ip range: outside", "carol", "read", "secret/data/office/wifi", nil, "127.0.0.98", false},
		{"ttl within the bound", "ci", "write", "auth/token/create", map[string]any{"ttl": "30m", "policies": []string{"default"}}, "", true},
		{"ttl beyond the bound", "ci", "write", "auth/token/create", map[string]any{"ttl": "2h", "policies": []string{"default"}}, "", false},
		{"no ttl sent: the granted default (768h) is beyond the bound", "ci", "write", "auth/token/create", map[string]any{"policies": []string{"default"}}, "", false},
		{"root bypasses", "root", "read", "database/prod/data/app", nil, "", true},
		{"default deny", "carol", "write", "secret/data/other", map[string]any{"data": map[string]any{"v": "2"}}, "", false},
	}
	tokens["root"] = root
	run := func(stage string, tc call, node int) error {
		src := tc.src
		if src == "" {
			src = "127.0.0.1"
		}
		cl := c.clientFrom(node, tokens[tc.who], src)
		var err error
		switch tc.op {
		case "read":
			_, err = cl.Logical().Read(tc.path)
		default:
			_, err = cl.Logical().Write(tc.path, tc.data)
		}
		var re *vault.ResponseError
		denied := errors.As(err, &re) && re.StatusCode == http.StatusForbidden
		if err != nil && !denied {
			return fmt.Errorf("%s: %s via node %d: unexpected error %v", stage, tc.name, node, err)
		}
		if denied == tc.allowed {
			return fmt.Errorf("%s: %s via node %d: allowed=%v, want %v (err %v)", stage, tc.name, node, !denied, tc.allowed, err)
		}
		return nil
	}
	for _, tc := range table {
		for node := range 3 {
			if err := run("first set", tc, node); err != nil {
				t.Error(err)
			}
		}
	}
	// A policy change takes effect on all three nodes: carol loses the
	// office, alice gains nothing back.
	mustWrite(t, admin, "sys/policies/cedar/authz", map[string]any{"policy": authzPolicies + `
@id("office-closed")
forbid(principal == User::"carol", action, resource in Secret::"secret/data/office");
`})
	for node := range 3 {
		if err := run("after the change", call{"office closed", "carol", "read", "secret/data/office/wifi", nil, "127.0.0.99", false}, node); err != nil {
			t.Error(err)
		}
	}
	// A bad document is refused with its position and the old set stays.
	_, err = admin.Logical().Write("sys/policies/cedar/authz", map[string]any{"policy": `permit(principal, action == Action::"reed", resource);`})
	var re *vault.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || len(re.Errors) == 0 {
		t.Fatalf("bad policy: %v, want 400", err)
	}
	for node := range 3 {
		if err := run("after a refused change", table[0], node); err != nil {
			t.Error(err)
		}
	}
}

func mustWrite(t *testing.T, cl *vault.Client, path string, data map[string]any) *vault.Secret {
	t.Helper()
	s, err := cl.Logical().Write(path, data)
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if s == nil {
		s = &vault.Secret{}
	}
	return s
}

func mustRead(t *testing.T, cl *vault.Client, path string) *vault.Secret {
	t.Helper()
	s, err := cl.Logical().Read(path)
	if err != nil || s == nil {
		t.Fatalf("read %s: %v, %v", path, s, err)
	}
	return s
}
