package cluster

import (
	"encoding/json"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// slotEvery is the period of the failover test's schedule.
const slotEvery = 20 * time.Second

// TestRotationSlotSurvivesFailover kills the active node with kill -9 a
// second before a scheduled rotation slot: the new active node runs that
// slot exactly once — the secret gets one new version for it, no double,
// no miss — and the history names the slot once.
func TestRotationSlotSurvivesFailover(t *testing.T) {
	c := Start(t, 3, Options{Shares: 1, Threshold: 1, LogLevel: "info", ExtraHCL: "rotation_check_interval = \"500ms\"\n"})
	root := c.InitUnseal().RootToken
	leader := c.WaitLeader(30 * time.Second)
	cl := c.Client(leader, root)
	for _, w := range []struct {
		path string
		data map[string]any
	}{
		{"sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}},
		{"secret/data/app/api", map[string]any{"data": map[string]any{"token": "initial"}}},
		{"secret/metadata/app/api", map[string]any{"custom_metadata": map[string]any{"rotate_length": "24"}}},
		{"sys/rotation/policies/slot", map[string]any{"match": "secret/data/app/*", "schedule": "*/20 * * * * *"}},
	} {
		if _, err := cl.Logical().Write(w.path, w.data); err != nil {
			t.Fatalf("write %s: %v", w.path, err)
		}
	}
	slot := time.Now().Truncate(slotEvery).Add(slotEvery)
	if time.Until(slot) < 3*time.Second {
		slot = slot.Add(slotEvery)
	}
	time.Sleep(time.Until(slot.Add(-time.Second)))
	before := kvVersion(t, cl)
	if err := c.Kill(leader); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	next := c.WaitLeader(60 * time.Second)
	t.Logf("node%d killed %v before the slot; node%d active %v after the kill", leader, slot.Sub(killed).Round(time.Millisecond),
		next, time.Since(killed).Round(time.Millisecond))
	nc := c.Client(next, root)
	deadline := time.Now().Add(30 * time.Second)
	for kvVersion(t, nc) == before {
		if time.Now().After(deadline) {
			t.Fatalf("the slot of %s was missed: still version %d", slot.Format(time.TimeOnly), before)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Until just before the following slot nothing more may happen.
	time.Sleep(time.Until(slot.Add(slotEvery - 2*time.Second)))
	if v := kvVersion(t, nc); v != before+1 {
		t.Fatalf("version %d after the slot, want %d (exactly one rotation)", v, before+1)
	}
	sec, err := nc.Logical().Read("sys/rotation/policies/slot/history")
	if err != nil || sec == nil {
		t.Fatalf("history: %v", err)
	}
	n := 0
	for _, r := range sec.Data["runs"].([]any) {
		run := r.(map[string]any)
		if run["slot"] == slot.UTC().Format(time.RFC3339) && run["result"] == "success" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the history names slot %s %d times, want once: %v", slot.UTC().Format(time.RFC3339), n, sec.Data["runs"])
	}
}

// kvVersion is secret/data/app/api's current version.
func kvVersion(t *testing.T, cl *vault.Client) int {
	t.Helper()
	sec, err := cl.Logical().Read("secret/data/app/api")
	if err != nil || sec == nil {
		t.Fatalf("read secret/data/app/api: %v", err)
	}
	v, _ := sec.Data["metadata"].(map[string]any)["version"].(json.Number).Int64()
	return int(v)
}
