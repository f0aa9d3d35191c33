package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
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
	err := b.Client(bLeader, rootB).Sys().RaftSnapshotRestore(bytes.NewReader(bad), true)
	if code, msg := responseError(err); code != http.StatusBadRequest || !strings.Contains(msg, "snapshot integrity check failed") {
		t.Fatalf("restore of a corrupted snapshot: %v; want 400 integrity check failed", err)
	}
	err = b.Client(bLeader, rootB).Sys().RaftSnapshotRestore(bytes.NewReader(snap.Bytes()), false)
	if code, msg := responseError(err); code != http.StatusBadRequest || !strings.Contains(msg, "not taken by this cluster") {
		t.Fatalf("restore of another cluster's snapshot without force: %v; want 400 not taken by this cluster", err)
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
	if _, err := kvGet(b, leader, rootA, "b-only"); !errors.Is(err, vault.ErrSecretNotFound) {
		t.Fatalf("B's own key after a full restore: %v; want not found", err)
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
