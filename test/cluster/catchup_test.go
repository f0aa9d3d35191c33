package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// TestCatchUpBySnapshotInstall stops a follower, writes enough for the
// leader to compact its log past the follower's position, restarts the
// follower and checks it catches up through an installed snapshot and
// then serves every write.
func TestCatchUpBySnapshotInstall(t *testing.T) {
	c := Start(t, 3, Options{Shares: 3, Threshold: 2, LogLevel: "info",
		StorageHCL: "  snapshot_threshold = 50\n  trailing_logs = 10\n  snapshot_interval = \"200ms\"\n  wal_segment_size = 8192\n"})
	init := c.InitUnseal()
	root := init.RootToken
	leader := c.WaitLeader(30 * time.Second)
	if err := c.Client(leader, root).Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	lagger := c.Others(leader)[0]
	if err := c.Stop(lagger); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		if err := kvPut(c, leader, root, fmt.Sprintf("k%03d", i), fmt.Sprint(i), 10*time.Second); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	time.Sleep(time.Second) // let the leader snapshot and compact
	if err := c.Restart(lagger); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(strings.ToLower(c.Nodes[lagger].Log()), "installed remote snapshot") {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not install a snapshot; its log:\n%s", c.Nodes[lagger].ID, tail(c.Nodes[lagger].Log(), 60))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The restarted node now holds the data: make it the only survivor of
	// the old majority that can lead, and read through it.
	if err := c.Stop(leader); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		var v string
		var err error
		for try := 0; try < 50; try++ {
			if v, err = kvGet(c, lagger, root, fmt.Sprintf("k%03d", i)); err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil || v != fmt.Sprint(i) {
			t.Fatalf("k%03d through the caught-up node = %q, %v", i, v, err)
		}
	}
}
