package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/bench/load"
)

// Failover benchmark timings.
const (
	// failoverKillAfter is how long the load runs before the leader is
	// killed.
	failoverKillAfter = 2 * time.Second
	// failoverBound is how long after the kill a write must succeed.
	failoverBound = 60 * time.Second
	// failoverSettle is how long the load goes on after the first
	// successful probe write, so that every client sees the new leader.
	failoverSettle = 3 * time.Second
)

// BenchmarkFailover measures how long writes are unavailable when the
// leader of a real 3-node cluster dies. Each iteration runs the vaultbench
// write load (8 clients over the two nodes that will survive), kills the
// leader with kill -9 two seconds in, probes with one write at a time
// through a survivor until one succeeds (the benchmark fails if none does
// within 60 s), lets the load go on for three more seconds, then restarts
// the killed node for the next iteration. It reports
//
//	ms/failover  the load's longest write outage window: from the last
//	             write acknowledged before the kill to the first one after
//	req/s        the load's requests per second, failures included
//
// (means over the iterations) and logs the load tool's text report with
// failover_ms=N for scripts. It measures; it asserts no speed.
//
//	go test -run '^$' -bench Failover -benchtime 1x ./test/cluster
func BenchmarkFailover(b *testing.B) {
	c := Start(b, 3, Options{Shares: 1, Threshold: 1, LogLevel: "warn"})
	init := c.InitUnseal()
	leader := c.WaitLeader(30 * time.Second)
	if _, err := c.Client(leader, init.RootToken).Logical().Write("sys/mounts/secret", map[string]any{"type": "kv-v2"}); err != nil {
		b.Fatal(err)
	}
	var windowMS, rates float64
	runs := 0
	for b.Loop() {
		leader := c.WaitLeader(60 * time.Second)
		rep := failoverOnce(b, c, leader, init.RootToken)
		windowMS += float64(rep.ByKind[load.KindWrite].Availability.LongestOutage) / float64(time.Millisecond)
		rates += rep.Total.RequestsPerSecond
		runs++
		if err := c.Restart(leader); err != nil {
			b.Fatal(err)
		}
		if err := c.WaitVoters(leader, len(c.Nodes), 2*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(windowMS/float64(runs), "ms/failover")
	b.ReportMetric(rates/float64(runs), "req/s")
}

// failoverOnce runs the write load against every node but leader, kills
// leader during it and returns the load's report once writes succeed
// again. It fails b if no write succeeds within failoverBound of the kill,
// or if the load's own writes did not recover.
func failoverOnce(b *testing.B, c *Cluster, leader int, token string) *load.Report {
	b.Helper()
	survivors := c.Others(leader)
	cfg := load.DefaultConfig()
	cfg.Addrs = nil
	for _, i := range survivors {
		cfg.Addrs = append(cfg.Addrs, c.Nodes[i].APIURL())
	}
	cfg.Token, cfg.Mount, cfg.Workload, cfg.Clients = token, "secret", load.WorkloadWrite, 8
	// A request that hangs on the dead leader fails after 2 s, before the
	// run is cancelled failoverSettle after the probe's success, so a
	// client that never recovers leaves an open outage window.
	cfg.Timeout = 2 * time.Second
	// An upper bound only: the run is cancelled once writes succeed again.
	cfg.Duration = failoverKillAfter + failoverBound + failoverSettle + time.Minute

	type result struct {
		rep *load.Report
		err error
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result, 1)
	launched := time.Now()
	go func() {
		rep, err := load.Run(ctx, cfg)
		done <- result{rep, err}
	}()
	finish := func() *load.Report {
		cancel()
		r := <-done
		if r.err != nil {
			b.Fatal(r.err)
		}
		return r.rep
	}

	time.Sleep(failoverKillAfter)
	killedAt := time.Since(launched)
	if err := c.Kill(leader); err != nil {
		finish()
		b.Fatal(err)
	}
	probe, err := failoverProbe(c, survivors[0], token, failoverBound)
	if err != nil {
		rep := finish()
		b.Fatalf("no write succeeded through node%d within %v of killing leader node%d: %v\n%s",
			survivors[0], failoverBound, leader, err, failoverText(rep))
	}
	time.Sleep(failoverSettle)
	rep := finish()

	w := rep.ByKind[load.KindWrite]
	if w == nil || !w.Availability.Recovered {
		b.Fatalf("a probe write succeeded %v after the kill, but the load's writes never did\n%s", probe, failoverText(rep))
	}
	av := w.Availability
	b.Logf("failover_ms=%d killed=node%d: kill at %.2fs, longest write outage %.2fs..%.2fs; probe write succeeded %v after the kill\n%s",
		av.LongestOutage.Milliseconds(), leader, killedAt.Seconds(), av.LongestOutageStart.Seconds(),
		(av.LongestOutageStart + av.Recovery).Seconds(), probe.Round(time.Millisecond), failoverText(rep))
	return rep
}

// failoverProbe writes one key through node i until a write succeeds, each
// attempt bounded by 2 s, and returns how long that took; an error if none
// succeeded within bound.
func failoverProbe(c *Cluster, i int, token string, bound time.Duration) (time.Duration, error) {
	cl := c.Client(i, token)
	cl.SetClientTimeout(2 * time.Second)
	start := time.Now()
	var err error
	for time.Since(start) < bound {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = cl.KVv2("secret").Put(ctx, "failover-probe", map[string]any{"at": time.Now().String()})
		cancel()
		if err == nil {
			return time.Since(start), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, fmt.Errorf("last error: %w", err)
}

// failoverText is rep's vaultbench text form.
func failoverText(rep *load.Report) string {
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		return err.Error()
	}
	return b.String()
}
