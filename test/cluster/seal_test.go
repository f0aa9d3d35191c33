package cluster

import (
	"net/http"
	"testing"
	"time"
)

// TestSealingTheActiveNodeHandsOver seals the active node: an unsealed
// standby takes over within seconds, writes continue, and the sealed node
// rejoins as a standby once unsealed.
func TestSealingTheActiveNodeHandsOver(t *testing.T) {
	c, root := startKV(t, 3)
	old := c.WaitLeader(30 * time.Second)
	if err := kvPut(c, old, root, "before-seal", "1", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Client(old, root).Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	next := c.WaitLeader(30 * time.Second)
	if next == old {
		t.Fatalf("the sealed node%d is still the active node", old)
	}
	t.Logf("node%d active %v after sealing node%d", next, time.Since(start).Round(time.Millisecond), old)
	other := c.Others(old, next)[0]
	if err := kvPut(c, other, root, "after-seal", "2", 10*time.Second); err != nil {
		t.Fatalf("write through a standby after the hand-over: %v", err)
	}
	resp, err := http.Get(c.Nodes[old].APIURL() + "/v1/sys/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("sealed node health = %d, want 503", resp.StatusCode)
	}
	if err := c.Unseal(old, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if v, err := kvGet(c, old, root, "after-seal"); err != nil || v != "2" {
		t.Fatalf("read through the unsealed former leader: %q, %v", v, err)
	}
	if v, err := kvGet(c, old, root, "before-seal"); err != nil || v != "1" {
		t.Fatalf("write from before the seal: %q, %v", v, err)
	}
}
