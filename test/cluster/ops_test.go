package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"

	"github.com/secretumvault/secretumvault/server/cluster"
)

// startKV starts an n-node cluster, unseals it and mounts kv-v2 at secret/.
func startKV(t *testing.T, n int) (*Cluster, string) {
	t.Helper()
	c := Start(t, n, Options{Shares: 3, Threshold: 2, LogLevel: "info"})
	init := c.InitUnseal()
	leader := c.WaitLeader(30 * time.Second)
	if err := c.Client(leader, init.RootToken).Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	return c, init.RootToken
}

func kvPut(c *Cluster, i int, token, key, val string, timeout time.Duration) error {
	cl := c.Client(i, token)
	cl.SetClientTimeout(timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := cl.KVv2("secret").Put(ctx, key, map[string]any{"v": val})
	return err
}

func kvGet(c *Cluster, i int, token, key string) (string, error) {
	cl := c.Client(i, token)
	cl.SetClientTimeout(5 * time.Second)
	s, err := cl.KVv2("secret").Get(context.Background(), key)
	if err != nil {
		return "", err
	}
	v, _ := s.Data["v"].(string)
	return v, nil
}

// TestStandbysForwardEverything writes and reads through every node and
// checks health codes: 200 on the active node, 429 on standbys.
func TestStandbysForwardEverything(t *testing.T) {
	c, root := startKV(t, 3)
	leader := c.WaitLeader(30 * time.Second)
	for i := range c.Nodes {
		key := fmt.Sprintf("via-node%d", i)
		if err := kvPut(c, i, root, key, key, 10*time.Second); err != nil {
			t.Fatalf("write through node%d: %v", i, err)
		}
		for j := range c.Nodes {
			if v, err := kvGet(c, j, root, key); err != nil || v != key {
				t.Fatalf("read %s through node%d = %q, %v", key, j, v, err)
			}
		}
		resp, err := http.Get(c.Nodes[i].APIURL() + "/v1/sys/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusTooManyRequests
		if i == leader {
			want = http.StatusOK
		}
		if resp.StatusCode != want {
			t.Fatalf("node%d health = %d, want %d", i, resp.StatusCode, want)
		}
	}
	// Token operations are forwarded too: a token minted through a standby
	// works through another standby.
	others := c.Others(leader)
	sec, err := c.Client(others[0], root).Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client(others[1], sec.Auth.ClientToken).Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("lookup-self of a token minted via another standby: %v", err)
	}
}

// TestFailoverTime kills the leader and measures how long until a write
// through a surviving node succeeds; with -v it logs failover_ms=N.
func TestFailoverTime(t *testing.T) {
	c, root := startKV(t, 3)
	leader := c.WaitLeader(30 * time.Second)
	if err := kvPut(c, leader, root, "before", "1", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	survivor := c.Others(leader)[0]
	if err := c.Kill(leader); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var err error
	for time.Since(start) < 60*time.Second {
		if err = kvPut(c, survivor, root, "after", "2", 2*time.Second); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no write succeeded within 60s of killing the leader: %v", err)
	}
	t.Logf("failover_ms=%d survivor=node%d killed=node%d: first successful write after kill -9 of the leader", time.Since(start).Milliseconds(), survivor, leader)
	if v, err := kvGet(c, survivor, root, "before"); err != nil || v != "1" {
		t.Fatalf("write acknowledged before the kill lost: %q, %v", v, err)
	}
	if err := c.Restart(leader); err != nil {
		t.Fatal(err)
	}
	if v, err := kvGet(c, leader, root, "after"); err != nil || v != "2" {
		t.Fatalf("restarted node does not see the write made while it was down: %q, %v", v, err)
	}
}

// TestMinorityPartitionCannotCommit cuts the leader off from the majority:
// writes through it fail with an error (no hang), the majority elects a
// new leader and commits, and after healing the old leader follows.
func TestMinorityPartitionCannotCommit(t *testing.T) {
	c, root := startKV(t, 3)
	old := c.WaitLeader(30 * time.Second)
	majority := c.Others(old)
	c.Partition([]int{old}, majority)
	start := time.Now()
	err := kvPut(c, old, root, "minority", "lost", 8*time.Second)
	if err == nil {
		t.Fatal("a write through the isolated old leader was acknowledged")
	}
	if took := time.Since(start); took > 9*time.Second {
		t.Fatalf("minority write hung for %v", took)
	}
	t.Logf("minority write failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	var werr error
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if werr = kvPut(c, majority[0], root, "majority", "kept", 2*time.Second); werr == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if werr != nil {
		t.Fatalf("majority could not commit: %v", werr)
	}
	c.Heal()
	deadline = time.Now().Add(30 * time.Second)
	var v string
	for time.Now().Before(deadline) {
		if v, err = kvGet(c, old, root, "majority"); err == nil && v == "kept" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if v != "kept" {
		t.Fatalf("healed old leader does not serve the majority's write: %q, %v", v, err)
	}
	if v, err := kvGet(c, old, root, "minority"); !errors.Is(err, vault.ErrSecretNotFound) {
		t.Fatalf("the failed minority write: %q, %v; want not found", v, err)
	}
}

// TestRemovedPeerStaysOut removes a node with remove-peer while it is
// down (so it never learns of its removal: its raft still counts itself a
// voter, as a dead server cleaned up by autopilot would), then restarts it
// and unseals it with the cluster's keys: it runs and is unsealed, and it
// campaigns, but every member refuses its cluster connections at the TLS
// handshake (its node id is on the deny-list, whatever certificate it
// issued itself at unseal), so it cannot write, is not a member again,
// cannot join again with its old state, and cannot join again under its
// node id even wiped. (A node removed while running receives the
// configuration without itself and never campaigns at all.)
func TestRemovedPeerStaysOut(t *testing.T) {
	c, root := startKV(t, 3)
	leader := c.WaitLeader(30 * time.Second)
	victim := c.Others(leader)[0]
	vid := nodeID(victim)
	lc := c.Client(leader, root)
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Logical().Write("sys/storage/raft/remove-peer", map[string]any{"server_id": vid}); err != nil {
		t.Fatalf("remove-peer: %v", err)
	}
	members := func() map[string]bool {
		t.Helper()
		servers, err := raftServers(lc)
		if err != nil {
			t.Fatal(err)
		}
		return servers
	}
	if ids := members(); len(ids) != 2 || ids[vid] {
		t.Fatalf("configuration after remove-peer = %v", ids)
	}

	// Where the members' logs stand before the restart.
	marks := make(map[int]int)
	for _, i := range c.Others(victim) {
		marks[i] = len(c.Nodes[i].Log())
	}
	if err := c.Restart(victim); err != nil {
		t.Fatalf("restart and unseal of the removed node: %v", err)
	}
	n := c.Nodes[victim]
	if !n.Running() {
		t.Fatal("the removed node is not running")
	}
	if st, err := c.Client(victim, "").Sys().SealStatus(); err != nil || !st.Initialized || st.Sealed {
		t.Fatalf("the removed node after restart: %+v, %v; want initialized and unsealed", st, err)
	}
	victimMark := strings.LastIndex(n.Log(), "=== harness: start #")

	// Refused at the handshake: a member logs it, and the removed node's
	// raft sees TLS alerts.
	deadline := time.Now().Add(30 * time.Second)
	refusedBy := -1
	for refusedBy < 0 && time.Now().Before(deadline) {
		for i, mark := range marks {
			log := c.Nodes[i].Log()[mark:]
			if strings.Contains(log, "refused cluster connection from removed node") && strings.Contains(log, `"node_id":"`+vid+`"`) {
				refusedBy = i
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if refusedBy < 0 {
		t.Fatalf("no member logged refusing %s's connections after its restart", vid)
	}
	waitLogSince(t, n, victimMark, 30*time.Second, "bad certificate")
	t.Logf("%s (restarted, unsealed) refused at the handshake by node%d", vid, refusedBy)

	// It cannot write: it knows no active node.
	err := kvPut(c, victim, root, "from-removed", "x", 5*time.Second)
	if code, _ := responseError(err); code != http.StatusServiceUnavailable {
		t.Fatalf("write through the removed node: %v; want 503", err)
	}
	if ids := members(); len(ids) != 2 || ids[vid] {
		t.Fatalf("removed node came back into the configuration: %v", ids)
	}
	// It cannot join again with its old state...
	_, err = c.Client(victim, "").Logical().Write("sys/storage/raft/join", map[string]any{"leader_api_addr": c.Nodes[leader].APIURL()})
	if code, msg := responseError(err); code != http.StatusBadRequest || !strings.Contains(msg, "already initialized") {
		t.Fatalf("join of the removed node with its old state: %v; want 400 already initialized", err)
	}
	// ...nor wiped, under its node id.
	if err := n.stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(n.dataDir); err != nil {
		t.Fatal(err)
	}
	leaderMark := len(c.Nodes[leader].Log())
	if err := n.start(c.opts.StartTimeout); err != nil {
		t.Fatal(err)
	}
	_, err = c.Client(victim, "").Logical().Write("sys/storage/raft/join", map[string]any{"leader_api_addr": c.Nodes[leader].APIURL()})
	if code, msg := responseError(err); code != http.StatusBadRequest || !strings.Contains(msg, "join failed") {
		t.Fatalf("join of the wiped removed node: %v; want a generic 400", err)
	}
	waitLogSince(t, c.Nodes[leader], leaderMark, 10*time.Second, "join of a removed node id refused")
	if st, err := c.Client(victim, "").Sys().SealStatus(); err != nil || st.Initialized {
		t.Fatalf("the wiped removed node joined: %+v, %v", st, err)
	}
	if err := kvPut(c, leader, root, "still-works", "y", 10*time.Second); err != nil {
		t.Fatalf("two-node cluster after removal cannot write: %v", err)
	}
}

// TestClusterPortNeedsClusterCertificate dials every node's cluster port
// with certificates the cluster did not issue: raft and forwarding
// connections are refused, and a forged join answer is rejected.
func TestClusterPortNeedsClusterCertificate(t *testing.T) {
	c, root := startKV(t, 3)
	foreign, err := cluster.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	id, err := foreign.IssueIdentity("intruder")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		for _, proto := range []string{cluster.ProtoRaft, cluster.ProtoForward, cluster.ProtoMember} {
			cfg := id.ClientConfig(proto)
			cfg.InsecureSkipVerify = true // the intruder does not even check the server
			for name, conf := range map[string]*tls.Config{
				"foreign CA": cfg,
				"no cert":    {InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, NextProtos: []string{proto}},
			} {
				if err := probe(n.ClusterListen, conf); err != nil {
					t.Fatalf("%s: %s connection with %s: %v", n.ID, proto, name, err)
				}
			}
		}
	}
	// A join answer without the key shares is refused by the leader with
	// 403 (bootstrap paths are not forwarded: ask the active node).
	leader := c.WaitLeader(30 * time.Second)
	resp, err := c.Client(leader, "").Logical().Write("sys/storage/raft/bootstrap/answer", map[string]any{
		"server_id": "intruder", "answer": "AAAA", "cluster_addr": "127.0.0.99:1", "public_key": "AAAA",
	})
	if code, _ := responseError(err); code != http.StatusForbidden {
		t.Fatalf("forged join answer: %v, %v; want 403 from the leader", resp, err)
	}
	if err := kvPut(c, 0, root, "after-probes", "ok", 10*time.Second); err != nil {
		t.Fatalf("cluster hurt by the probes: %v", err)
	}
}

// probe completes a TLS handshake and a read, and returns nil only when
// the server refused the client with a TLS alert (with TLS 1.3 a rejected
// client certificate is noticed on the first read).
func probe(addr string, cfg *tls.Config) error {
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		if strings.Contains(err.Error(), "remote error: tls:") {
			return nil
		}
		return fmt.Errorf("dial failed without a TLS refusal: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	_, _ = conn.Write([]byte{0, 0, 0, 0})
	buf := make([]byte, 1)
	_, err = conn.Read(buf)
	switch {
	case err == nil:
		return errors.New("server answered")
	case strings.Contains(err.Error(), "remote error: tls:"):
		return nil
	}
	return fmt.Errorf("no TLS refusal (the connection was accepted): %w", err)
}
