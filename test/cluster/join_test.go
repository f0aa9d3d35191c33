package cluster

import (
	"strings"
	"testing"
	"time"
)

// TestJoinRefusesDuplicateNodeID: a node whose node_id is already a member
// cannot join (it would replace the member's address in raft).
func TestJoinRefusesDuplicateNodeID(t *testing.T) {
	a := Start(t, 1, Options{Shares: 1, Threshold: 1, LogLevel: "info"})
	a.InitUnseal()
	a.WaitLeader(30 * time.Second)
	b := Start(t, 1, Options{Shares: 1, Threshold: 1, LogLevel: "info"})
	_, err := b.Client(0, "").Logical().Write("sys/storage/raft/join", map[string]any{"leader_api_addr": a.Nodes[0].APIURL()})
	if err == nil || !strings.Contains(err.Error(), "already a member") {
		t.Fatalf("join with a duplicate node id: %v", err)
	}
	if st, err := b.Client(0, "").Sys().SealStatus(); err != nil || st.Initialized {
		t.Fatalf("refused joiner changed state: %+v, %v", st, err)
	}
}
