package cluster

import (
	"strings"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// TestNodeCertificatesAreRenewed runs a cluster whose node certificates
// live 20 s. Long after every first certificate expired, members still
// open new cluster connections: the standbys that never talked to each
// other elect a new leader when the active node stops, forward to it, and
// the stopped node comes back. Each standby renewed through the active
// node, the active node from the CA.
func TestNodeCertificatesAreRenewed(t *testing.T) {
	const ttl = 20 * time.Second
	c := Start(t, 3, Options{Shares: 3, Threshold: 2, LogLevel: "info", ExtraHCL: "cluster_cert_ttl = \"20s\"\n"})
	start := time.Now()
	init := c.InitUnseal()
	leader := c.WaitLeader(30 * time.Second)
	root := init.RootToken
	if err := c.Client(leader, root).Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	// Every node has renewed at least twice (the first certificates, and
	// the first renewals, are expired).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		done := true
		for _, n := range c.Nodes {
			done = done && strings.Count(n.Log(), "node certificate renewed") >= 2
		}
		if done && time.Since(start) > 2*ttl {
			break
		}
		if time.Now().After(deadline) {
			for _, n := range c.Nodes {
				t.Logf("%s renewed %d times", n.ID, strings.Count(n.Log(), "node certificate renewed"))
			}
			t.Fatal("nodes did not renew their certificates")
		}
		time.Sleep(500 * time.Millisecond)
	}
	lid := nodeID(leader)
	for i, n := range c.Nodes {
		want := `"issuer":"` + lid + `"`
		if i == leader {
			want = `"issuer":"self"`
		}
		if !strings.Contains(n.Log(), want) {
			t.Fatalf("%s never renewed with %s", n.ID, want)
		}
	}
	t.Logf("every node renewed at least twice within %v of init", time.Since(start).Round(time.Second))

	// New connections everywhere: a new election between the standbys,
	// forwarding to the new active node, the old one rejoining.
	if err := c.Stop(leader); err != nil {
		t.Fatal(err)
	}
	newLeader := c.WaitLeader(30 * time.Second)
	for _, i := range c.Others(leader) {
		if err := kvPut(c, i, root, "after-renewal", nodeID(i), 10*time.Second); err != nil {
			t.Fatalf("write through node%d after the leader change (new leader node%d): %v", i, newLeader, err)
		}
	}
	if err := c.Restart(leader); err != nil {
		t.Fatal(err)
	}
	if err := kvPut(c, leader, root, "rejoined", "yes", 10*time.Second); err != nil {
		t.Fatalf("write through the restarted node: %v", err)
	}
}
