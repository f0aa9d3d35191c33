package cluster

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// envDuration reads a Go duration from the environment, else def.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q is not a positive duration (e.g. 60s)", name, v)
	}
	return d
}

// seed is $SECRETUM_LINEARIZABILITY_SEED or the clock, and is logged so a
// run's op choices can be replayed.
func seed(t *testing.T) uint64 {
	t.Helper()
	if v := os.Getenv("SECRETUM_LINEARIZABILITY_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SECRETUM_LINEARIZABILITY_SEED=%q: %v", v, err)
		}
		return s
	}
	s := uint64(time.Now().UnixNano())
	t.Logf("seed %d (set SECRETUM_LINEARIZABILITY_SEED to reuse)", s)
	return s
}

// linRun is one linearizability run: workload and nemesis together, then
// recovery, final reads and the checks.
type linRun struct {
	c       *Cluster
	w       workload
	nemesis *nemesis
}

func (r *linRun) run(t *testing.T) (*Recorder, map[string][]kvOutput) {
	t.Helper()
	token := r.c.RootToken()
	leader := r.c.WaitLeader(time.Minute)
	if err := r.c.Client(leader, token).Sys().Mount(r.w.Mount, &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount %s: %v", r.w.Mount, err)
	}
	rec := NewRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), r.w.Duration)
	defer cancel()
	var wg sync.WaitGroup
	var nemErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		nemErr = r.nemesis.run(ctx)
	}()
	if err := r.w.run(r.c, token, rec); err != nil {
		t.Error(err)
	}
	cancel()
	wg.Wait()
	if nemErr != nil {
		t.Errorf("nemesis: %v", nemErr)
	}
	if err := r.c.Recover(); err != nil {
		t.Fatalf("recover after faults: %v", err)
	}
	leader = r.c.WaitLeader(time.Minute)
	t.Logf("nemesis: %d faults injected; leader after recovery: node%d; network %+v",
		r.nemesis.rounds, leader, r.c.Net.Stats())
	final, err := r.w.finalReads(r.c, token, rec, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return rec, final
}

// TestLinearizableSingleNode runs the workload against one vaultd that the
// nemesis pauses for longer than the client timeout, so that puts end with
// unknown outcomes and are applied after their clients gave up.
func TestLinearizableSingleNode(t *testing.T) {
	c := Start(t, 1, Options{Shares: 1, Threshold: 1, LogLevel: "info"})
	c.InitUnseal()
	c.WaitLeader(10 * time.Second)
	r := &linRun{
		c: c,
		w: workload{Clients: 4, Keys: 5, Duration: 8 * time.Second, OpTimeout: 2 * time.Second, Mount: "secret", Seed: seed(t)},
		nemesis: &nemesis{
			c: c, faults: []fault{faultPause}, hold: 2500 * time.Millisecond, quiet: time.Second, logf: t.Logf,
		},
	}
	rec, final := r.run(t)
	requireProgress(t, rec, r.nemesis, 1)
	requireLinearizable(t, rec, final)
	requireStaleReadDetected(t, rec, final)
}

// TestLinearizableUnderFaults runs concurrent clients on every node of a
// 3-node cluster while the nemesis kills the leader, pauses nodes and
// partitions the leader from the majority, for
// $SECRETUM_LINEARIZABILITY_DURATION (default 20s; CI sets 60s).
func TestLinearizableUnderFaults(t *testing.T) {
	duration := envDuration(t, "SECRETUM_LINEARIZABILITY_DURATION", 20*time.Second)
	c := Start(t, 3, Options{LogLevel: "info"})
	c.InitUnseal()
	c.WaitLeader(time.Minute)
	r := &linRun{
		c: c,
		w: workload{Clients: 6, Keys: 5, Duration: duration, OpTimeout: 2 * time.Second, Mount: "secret", Seed: seed(t)},
		nemesis: &nemesis{
			c: c, faults: []fault{faultKillLeader, faultPause, faultPartitionLeader},
			hold: 3 * time.Second, quiet: 2 * time.Second, logf: t.Logf,
		},
	}
	rec, final := r.run(t)
	st := c.Net.Stats()
	if st.Unidentified > 0 {
		t.Errorf("%d cluster connections came from an IP that is no node's cluster IP: nodes must dial from their cluster_address host, or partitions cut nothing", st.Unidentified)
	}
	if st.Accepted == 0 || st.Cut+st.Refused == 0 {
		t.Errorf("the proxies saw no cluster traffic or cut none (%+v): cluster_addr is not used as the advertised address", st)
	}
	requireProgress(t, rec, r.nemesis, 3)
	requireLinearizable(t, rec, final)
}

// requireProgress fails a run that proved nothing: too few faults, too few
// acknowledged writes or reads.
func requireProgress(t *testing.T, rec *Recorder, n *nemesis, minFaults int) {
	t.Helper()
	st := rec.Stats()
	if n.rounds < minFaults {
		t.Errorf("only %d faults injected, want at least %d", n.rounds, minFaults)
	}
	if st.AckedPuts < 20 || st.OkGets < 20 {
		t.Errorf("too little progress to prove anything: %+v", st)
	}
}
