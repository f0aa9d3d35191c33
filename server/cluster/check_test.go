package cluster_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/server/cluster"
)

// TestDenyListRefusesRemovedNodes: a certificate the cluster CA issued is
// refused at the handshake, on the accepting and on the dialing side, once
// its node id is on the deny-list; other nodes are unaffected, and the
// check can be lifted.
func TestDenyListRefusesRemovedNodes(t *testing.T) {
	ca := mustCA(t)
	server := newNode(t, ca, "server", "127.0.0.1")
	addr := server.mux.Addr().String()
	accepted := acceptAll(t, server.mux.Listener(cluster.ProtoRaft))
	var deny cluster.DenyList
	deny.Deny("removed")
	server.mux.SetPeerCheck(deny.Check)

	removed := mustIdentity(t, ca, "removed")
	refused(t, addr, removed.ClientConfig(cluster.ProtoRaft))

	member := newNode(t, ca, "member", "127.0.0.2")
	c, err := member.dialer.DialContext(ctxT(t), addr, cluster.ProtoRaft)
	if err != nil {
		t.Fatalf("a member that is not deny-listed: %v", err)
	}
	roundTrip(t, c, nextConn(t, accepted), "hello")
	c.Close()

	// The dialing side checks the server too.
	var clientDeny cluster.DenyList
	clientDeny.Deny("server")
	member.dialer.SetPeerCheck(clientDeny.Check)
	if c, err := member.dialer.DialContext(ctxT(t), addr, cluster.ProtoRaft); !errors.Is(err, cluster.ErrDenied) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial to a deny-listed server: %v, want ErrDenied", err)
	}
	member.dialer.SetPeerCheck(nil)

	// Lifting the check lets the removed node in again.
	server.mux.SetPeerCheck(nil)
	d, _ := cluster.NewDialer("127.0.0.1", func() *cluster.NodeIdentity { return removed })
	c, err = d.DialContext(ctxT(t), addr, cluster.ProtoRaft)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, nextConn(t, accepted), "again")
}

func TestDenyList(t *testing.T) {
	var d cluster.DenyList
	if d.Denied("a") || len(d.IDs()) != 0 {
		t.Fatal("zero DenyList is not empty")
	}
	d.Deny("b")
	d.Deny("a")
	if !d.Denied("a") || !slices.Equal(d.IDs(), []string{"a", "b"}) {
		t.Fatalf("after Deny: %v", d.IDs())
	}
	d.Replace([]string{"c"})
	if d.Denied("a") || !d.Denied("c") {
		t.Fatalf("after Replace: %v", d.IDs())
	}
	id := mustIdentity(t, mustCA(t), "c")
	if err := d.Check(id.Cert.Leaf); !errors.Is(err, cluster.ErrDenied) || !strings.Contains(err.Error(), `"c"`) {
		t.Fatalf("Check = %v", err)
	}
}

func TestValidateNodeID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"node-1", true},
		{"a.b_c-D9", true},
		{strings.Repeat("a", cluster.MaxNodeIDLength), true},
		{strings.Repeat("a", cluster.MaxNodeIDLength+1), false},
		{"", false},
		{"node 1", false},
		{"a/b", false},
		{"é", false},
	}
	for _, tt := range tests {
		if err := cluster.ValidateNodeID(tt.id); (err == nil) != tt.ok || (err != nil && !errors.Is(err, cluster.ErrInvalidNodeID)) {
			t.Errorf("ValidateNodeID(%.20q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
	// A maximal id is usable in a certificate.
	if _, err := mustCA(t).IssueIdentity(strings.Repeat("n", cluster.MaxNodeIDLength)); err != nil {
		t.Fatal(err)
	}
}
