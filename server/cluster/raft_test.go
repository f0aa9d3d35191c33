package cluster_test

import (
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/secretumvault/secretumvault/server/cluster"
)

// logFSM records every applied command.
type logFSM struct {
	mu  sync.Mutex
	log []string
}

func (f *logFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, string(l.Data))
	return len(f.log)
}

func (f *logFSM) entries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

func (f *logFSM) Snapshot() (raft.FSMSnapshot, error) { return nopSnapshot{}, nil }
func (f *logFSM) Restore(r io.ReadCloser) error       { return r.Close() }

type nopSnapshot struct{}

func (nopSnapshot) Persist(s raft.SnapshotSink) error { return s.Close() }
func (nopSnapshot) Release()                          {}

// raftNode is a hashicorp/raft node on a cluster Mux.
type raftNode struct {
	id    raft.ServerID
	trans *raft.NetworkTransport
	raft  *raft.Raft
	fsm   *logFSM
}

func newTransport(t *testing.T, n *node) *raft.NetworkTransport {
	t.Helper()
	stream := cluster.NewStreamLayer(n.mux.Listener(cluster.ProtoRaft), n.dialer, cluster.ProtoRaft, nil)
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 2, Timeout: 5 * time.Second,
		Logger: hclog.NewNullLogger(),
	})
	t.Cleanup(func() { _ = trans.Close() })
	return trans
}

func startRaft(t *testing.T, id string, trans *raft.NetworkTransport, servers []raft.Server) *raftNode {
	t.Helper()
	cfg := raft.DefaultConfig()
	cfg.LocalID = raft.ServerID(id)
	cfg.HeartbeatTimeout = 300 * time.Millisecond
	cfg.ElectionTimeout = 300 * time.Millisecond
	cfg.LeaderLeaseTimeout = 150 * time.Millisecond
	cfg.CommitTimeout = 20 * time.Millisecond
	cfg.Logger = hclog.NewNullLogger()
	store := raft.NewInmemStore()
	snaps := raft.NewInmemSnapshotStore()
	if err := raft.BootstrapCluster(cfg, store, store, snaps, trans, raft.Configuration{Servers: servers}); err != nil {
		t.Fatal(err)
	}
	fsm := &logFSM{}
	r, err := raft.NewRaft(cfg, fsm, store, store, snaps, trans)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown().Error() })
	return &raftNode{id: cfg.LocalID, trans: trans, raft: r, fsm: fsm}
}

func waitLeader(t *testing.T, nodes ...*raftNode) *raftNode {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if n.raft.State() == raft.Leader {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no leader elected over the TLS stream layer")
	return nil
}

func TestRaftOverStreamLayer(t *testing.T) {
	ca := mustCA(t)
	a := newNode(t, ca, "node-a", "127.0.0.1")
	b := newNode(t, ca, "node-b", "127.0.0.2")
	ta, tb := newTransport(t, a), newTransport(t, b)
	servers := []raft.Server{
		{ID: "node-a", Address: ta.LocalAddr(), Suffrage: raft.Voter},
		{ID: "node-b", Address: tb.LocalAddr(), Suffrage: raft.Voter},
	}
	ra := startRaft(t, "node-a", ta, servers)
	rb := startRaft(t, "node-b", tb, servers)
	leader := waitLeader(t, ra, rb)
	// Two voters: a commit needs both, so it proves AppendEntries crossed
	// the TLS stream layer.
	for i := range 5 {
		if err := leader.raft.Apply(fmt.Appendf(nil, "cmd-%d", i), 5*time.Second).Error(); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
	}
	want := []string{"cmd-0", "cmd-1", "cmd-2", "cmd-3", "cmd-4"}
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range []*raftNode{ra, rb} {
		for !slices.Equal(n.fsm.entries(), want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := n.fsm.entries(); !slices.Equal(got, want) {
			t.Fatalf("%s applied %v, want %v", n.id, got, want)
		}
	}
}

func TestRaftRefusesForeignNode(t *testing.T) {
	ca := mustCA(t)
	a := newNode(t, ca, "node-a", "127.0.0.1")
	ta := newTransport(t, a)
	ra := startRaft(t, "node-a", ta, []raft.Server{{ID: "node-a", Address: ta.LocalAddr(), Suffrage: raft.Voter}})
	waitLeader(t, ra)
	if err := ra.raft.Apply([]byte("secret"), 5*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	term := ra.raft.Stats()["term"]

	tests := []struct {
		name string
		ca   *cluster.CA
	}{
		{"certificate from another CA", mustCA(t)},
		{"no identity", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			intruder := newNode(t, tt.ca, "intruder", "127.0.0.2")
			trans := newTransport(t, intruder)
			var resp raft.AppendEntriesResponse
			err := trans.AppendEntries("node-a", ta.LocalAddr(), &raft.AppendEntriesRequest{
				RPCHeader: raft.RPCHeader{ID: []byte("intruder"), Addr: []byte(trans.LocalAddr())},
				Term:      1000, PrevLogEntry: 0, PrevLogTerm: 0,
			}, &resp)
			if err == nil {
				t.Fatalf("foreign node's AppendEntries got an answer: %+v", resp)
			}
			var vote raft.RequestVoteResponse
			if err := trans.RequestVote("node-a", ta.LocalAddr(), &raft.RequestVoteRequest{
				RPCHeader: raft.RPCHeader{ID: []byte("intruder"), Addr: []byte(trans.LocalAddr())},
				Term:      1000,
			}, &vote); err == nil {
				t.Fatalf("foreign node's RequestVote got an answer: %+v", vote)
			}
		})
	}
	if ra.raft.State() != raft.Leader {
		t.Fatalf("leader disturbed by the intruder: %v", ra.raft.State())
	}
	if got := ra.raft.Stats()["term"]; got != term {
		t.Fatalf("term moved from %s to %s: the intruder's high-term RPC was processed", term, got)
	}
}

var _ net.Listener = (*cluster.StreamLayer)(nil)
