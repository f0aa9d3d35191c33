package cluster

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// TestSnapshotIntoAnotherCluster saves a snapshot of cluster A through a
// standby with the OpenBao client (which checks Vault's archive layout),
// rejects a corrupted copy, restores it into a fresh cluster B with
// snapshot-force, unseals B with A's keys and reads every key.
func TestSnapshotIntoAnotherCluster(t *testing.T) {
	ctx := context.Background()
	a, rootA := startKV(t, 3)
	const n = 50
	for i := range n {
		if err := kvPut(a, 0, rootA, fmt.Sprintf("k%02d", i), fmt.Sprint(i), 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	standby := a.Others(a.WaitLeader(30 * time.Second))[0]
	var snap bytes.Buffer
	if err := a.Client(standby, rootA).Sys().RaftSnapshotWithContext(ctx, &snap); err != nil {
		t.Fatalf("snapshot save through a standby: %v", err)
	}
	t.Logf("snapshot of %d keys: %d bytes", n, snap.Len())
	initA := a.init

	b, rootB := startKV(t, 3)
	bLeader := b.WaitLeader(30 * time.Second)
	if err := kvPut(b, bLeader, rootB, "b-only", "x", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), snap.Bytes()...)
	bad[len(bad)/2] ^= 0xff
	if err := b.Client(bLeader, rootB).Sys().RaftSnapshotRestore(bytes.NewReader(bad), true); err == nil {
		t.Fatal("corrupted snapshot restored")
	}
	if err := b.Client(bLeader, rootB).Sys().RaftSnapshotRestore(bytes.NewReader(snap.Bytes()), false); err == nil {
		t.Fatal("another cluster's snapshot restored without force")
	}
	if v, err := kvGet(b, bLeader, rootB, "b-only"); err != nil || v != "x" {
		t.Fatalf("cluster B damaged by rejected restores: %q, %v", v, err)
	}
	if err := b.Client(bLeader, rootB).Sys().RaftSnapshotRestore(bytes.NewReader(snap.Bytes()), true); err != nil {
		t.Fatalf("snapshot-force restore: %v", err)
	}
	// B now holds A's keyring: unseal its active node with A's keys.
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		for i := range b.Nodes {
			cl := b.Client(i, "")
			if st, err := cl.Sys().SealStatus(); err == nil && st.Sealed {
				for _, k := range initA.Keys[:2] {
					_, last = cl.Sys().Unseal(k)
				}
			}
		}
		if leader, err := b.FindLeader(2 * time.Second); err == nil {
			if v, err := kvGet(b, leader, rootA, "k07"); err == nil && v == "7" {
				break
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	leader := b.WaitLeader(30 * time.Second)
	for i := range n {
		if v, err := kvGet(b, leader, rootA, fmt.Sprintf("k%02d", i)); err != nil || v != fmt.Sprint(i) {
			t.Fatalf("k%02d after restore = %q, %v (last unseal error %v)", i, v, err, last)
		}
	}
	if _, err := kvGet(b, leader, rootA, "b-only"); err == nil {
		t.Fatal("B's own key survived a full restore")
	}
	if err := kvPut(b, leader, rootA, "after-restore", "ok", 10*time.Second); err != nil {
		t.Fatalf("restored cluster cannot commit (election/membership broken?): %v", err)
	}
	if v := func() int {
		s, err := b.Client(leader, rootA).Logical().Read("sys/storage/raft/configuration")
		if err != nil {
			t.Fatal(err)
		}
		return len(s.Data["config"].(map[string]any)["servers"].([]any))
	}(); v != 3 {
		t.Fatalf("restore changed B's membership: %d servers", v)
	}
}
