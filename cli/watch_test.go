package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

func TestParseAuditFailures(t *testing.T) {
	t.Parallel()
	text := `# HELP secretum_vault_audit_log_failures_total Entries an audit device failed to record
# TYPE secretum_vault_audit_log_failures_total counter
secretum_vault_audit_log_failures_total{device="file/"} 3
secretum_vault_audit_log_failures_total{device="sock"} 1e+00
secretum_vault_audit_log_failures_total{device=""} 9
secretum_vault_audit_log_failures_totalx{device="x"} 5
secretum_vault_requests_total{device="file/"} 7
`
	got := parseAuditFailures(text)
	if len(got) != 2 || got["file/"] != 3 || got["sock"] != 1 {
		t.Fatalf("parseAuditFailures = %v", got)
	}
}

func TestClusterViewRender(t *testing.T) {
	t.Parallel()
	v := &clusterView{
		At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Address: "http://127.0.0.1:8200",
		Seal:  &client.SealStatus{Initialized: true, StorageType: "raft", Version: "0.1.0"},
		Nodes: []client.RaftPeer{{NodeID: "n1", Address: "10.0.0.1:8201", Leader: true, Voter: true}, {NodeID: "n2", Address: "10.0.0.2:8201", Voter: true}},
		Rotation: &client.RotationStatus{OK: 1, Secrets: []client.SecretRotationStatus{
			{Path: "secret/data/app/api", Policy: "p", State: "ok", Age: 60, MaxAge: 3600, NextRotation: "2027-01-01T00:00:00Z"}}},
		Audit:  map[string]auditDeviceFailure{"file/": {Failures: 4, Recent: 1}},
		Errors: map[string]string{},
	}
	screen := strings.Join(v.render(0), "\n")
	for _, want := range []string{
		"SecretumVault http://127.0.0.1:8200 at 03:04:05 (q quits)",
		"initialized true, sealed false, storage raft, version 0.1.0",
		"n1      10.0.0.1:8201    yes       yes", "n2      10.0.0.2:8201    no        yes",
		"ok 1, warn 0, overdue 0, quarantined 0",
		"secret/data/app/api    p         ok       1m0s    1h0m0s     -      2027-01-01T00:00:00Z",
		"file/     4           1",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("view lacks %q:\n%s", want, screen)
		}
	}
	for _, l := range v.render(20) {
		if len([]rune(l)) > 20 {
			t.Errorf("line wider than 20: %q", l)
		}
	}
	v.Seal, v.Nodes = nil, nil
	v.Errors = map[string]string{partSeal: "connection refused", partNodes: "unsupported path"}
	screen = strings.Join(v.render(0), "\n")
	if !strings.Contains(screen, "seal status: connection refused") || !strings.Contains(screen, "nodes: unsupported path") {
		t.Errorf("errors not shown:\n%s", screen)
	}
}

// TestRunWatchNotATerminal: off a terminal the view prints frames until
// the end of stdin (here at once: one frame), as text or as JSON.
func TestRunWatchNotATerminal(t *testing.T) {
	t.Parallel()
	v := startRealVault(t)
	out := v.run(0, "", "status", "-watch")
	if !strings.Contains(out, "(q quits)") || !strings.Contains(out, "sealed false") || strings.Contains(out, "\x1b[") {
		t.Fatalf("text frame = %q", out)
	}
	out = v.run(0, "", "rotation", "watch", "-format=json")
	var frame clusterView
	if err := json.Unmarshal([]byte(out), &frame); err != nil || frame.Seal == nil || frame.Seal.Sealed || frame.Rotation == nil {
		t.Fatalf("json frame = %q (%v)", out, err)
	}
	if frame.Errors[partNodes] == "" {
		t.Errorf("inmem storage has no raft configuration, yet no error: %q", out)
	}
}

// TestCountProgress: the item counter of getall and migrate redraws its
// line as "label: n/total" once the interval has passed, and none is made
// off a terminal.
func TestCountProgress(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	clock := time.Unix(0, 0)
	p := newProgressClock(&out, "Reading secrets", func() time.Time { return clock })
	p.render = countOf(4)
	p.inc()
	clock = clock.Add(progressInterval)
	p.inc()
	p.done()
	if got := out.String(); got != "\r\x1b[KReading secrets: 2/4\r\x1b[K" {
		t.Fatalf("progress printed %q", got)
	}
	if (&app{stdout: &out, stderr: &out}).newCountProgress("x", 3) != nil {
		t.Fatal("count progress off a terminal")
	}
}
