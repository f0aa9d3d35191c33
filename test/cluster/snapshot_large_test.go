package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLargeSnapshotThroughStandby saves and restores a snapshot larger
// than the 32 MiB request limit (plus the forwarding headroom) through a
// standby, which must stream it to the active node rather than hold it.
func TestLargeSnapshotThroughStandby(t *testing.T) {
	ctx := context.Background()
	c, root := startKV(t, 3)
	const keys, size = 40, 1 << 20
	values := make([]string, keys)
	for i := range values {
		raw := make([]byte, size*3/4)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		values[i] = base64.StdEncoding.EncodeToString(raw) // incompressible
		if err := kvPut(c, c.WaitLeader(30*time.Second), root, fmt.Sprintf("big%02d", i), values[i], 30*time.Second); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	leader := c.WaitLeader(30 * time.Second)
	standby := c.Others(leader)[0]
	var snap bytes.Buffer
	if err := c.Client(standby, root).Sys().RaftSnapshotWithContext(ctx, &snap); err != nil {
		t.Fatalf("save through a standby: %v", err)
	}
	if snap.Len() <= 34<<20 {
		t.Fatalf("snapshot is %d bytes; the test needs more than 34 MiB", snap.Len())
	}
	// Change a key, restore, and see the snapshot's value come back.
	if err := kvPut(c, leader, root, "big00", "changed", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	before := peakRSS(t, c, standby)
	cl := c.Client(standby, root)
	cl.SetClientTimeout(5 * time.Minute)
	if err := cl.Sys().RaftSnapshotRestoreWithContext(ctx, bytes.NewReader(snap.Bytes()), false); err != nil {
		t.Fatalf("restore of %d bytes through a standby: %v", snap.Len(), err)
	}
	grew := peakRSS(t, c, standby) - before
	t.Logf("snapshot %d MiB restored through node%d; its peak RSS grew by %d MiB", snap.Len()>>20, standby, grew>>20)
	if grew > 24<<20 {
		t.Fatalf("the standby's peak memory grew by %d MiB for a %d MiB snapshot: it buffered the upload", grew>>20, snap.Len()>>20)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		l, err := c.FindLeader(5 * time.Second)
		if err == nil {
			v, gerr := kvGet(c, l, root, "big00")
			if gerr == nil && v == values[0] {
				break
			}
			err = fmt.Errorf("big00 = %.20q…, %v", v, gerr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot data not back after restore: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	l := c.WaitLeader(30 * time.Second)
	for i := 1; i < keys; i += 13 {
		if v, err := kvGet(c, l, root, fmt.Sprintf("big%02d", i)); err != nil || v != values[i] {
			t.Fatalf("big%02d after restore: %v", i, err)
		}
	}
}

// peakRSS reads a node's peak resident set size (VmHWM) in bytes.
func peakRSS(t *testing.T, c *Cluster, i int) int64 {
	t.Helper()
	n := c.Nodes[i]
	n.mu.Lock()
	pid := n.cmd.Process.Pid
	n.mu.Unlock()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
