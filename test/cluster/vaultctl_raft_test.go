package cluster

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	vaultctlOnce sync.Once
	vaultctlBin  string
	vaultctlErr  error
)

// vaultctl runs the real vaultctl binary against node i.
func vaultctl(t *testing.T, c *Cluster, i int, token string, args ...string) (string, string, int) {
	t.Helper()
	vaultctlOnce.Do(func() {
		vaultctlBin = filepath.Join(os.TempDir(), "secretum-cluster-vaultctl")
		out, err := exec.Command("go", "build", "-o", vaultctlBin, "../../cmd/vaultctl").CombinedOutput()
		if err != nil {
			vaultctlErr = err
			t.Logf("build vaultctl: %s", out)
		}
	})
	if vaultctlErr != nil {
		t.Fatalf("build vaultctl: %v", vaultctlErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, vaultctlBin, args...)
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+c.Nodes[i].APIURL(), "VAULT_TOKEN="+token)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

// TestVaultctlOperatorRaft drives list-peers, snapshot save/restore and
// remove-peer through the vaultctl binary against a 3-node cluster, each
// through a standby.
func TestVaultctlOperatorRaft(t *testing.T) {
	c, root := startKV(t, 3)
	leader := c.WaitLeader(30 * time.Second)
	standby := c.Others(leader)[0]
	out, errOut, code := vaultctl(t, c, standby, root, "operator", "raft", "list-peers")
	if code != 0 || strings.Count(out, "node") < 3 || !strings.Contains(out, "leader") {
		t.Fatalf("list-peers: exit %d\n%s%s", code, out, errOut)
	}
	if err := kvPut(c, leader, root, "snap-me", "before", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "backup.snap")
	if out, errOut, code := vaultctl(t, c, standby, root, "operator", "raft", "snapshot", "save", file); code != 0 {
		t.Fatalf("snapshot save: exit %d\n%s%s", code, out, errOut)
	}
	if st, err := os.Stat(file); err != nil || st.Size() == 0 {
		t.Fatalf("snapshot file: %v", err)
	}
	if err := kvPut(c, leader, root, "snap-me", "after", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := vaultctl(t, c, standby, root, "operator", "raft", "snapshot", "restore", file); code != 0 {
		t.Fatalf("snapshot restore: exit %d\n%s%s", code, out, errOut)
	}
	if v, err := kvGet(c, leader, root, "snap-me"); err != nil || v != "before" {
		t.Fatalf("after restoring the snapshot: %q, %v", v, err)
	}
	// A truncated snapshot is refused and changes nothing.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(t.TempDir(), "short.snap")
	if err := os.WriteFile(short, raw[:len(raw)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, code := vaultctl(t, c, leader, root, "operator", "raft", "snapshot", "restore", short); code == 0 {
		t.Fatal("truncated snapshot restored")
	}
	if v, err := kvGet(c, leader, root, "snap-me"); err != nil || v != "before" {
		t.Fatalf("state changed by a refused restore: %q, %v", v, err)
	}
	victim := c.Others(leader)[1]
	if out, errOut, code := vaultctl(t, c, leader, root, "operator", "raft", "remove-peer", nodeID(victim)); code != 0 {
		t.Fatalf("remove-peer: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = vaultctl(t, c, leader, root, "operator", "raft", "list-peers", "-format=json")
	if strings.Contains(out, nodeID(victim)) {
		t.Fatalf("removed peer still listed:\n%s", out)
	}
}
