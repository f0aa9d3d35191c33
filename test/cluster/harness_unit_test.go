package cluster

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl"
	vault "github.com/openbao/openbao/api/v2"
)

// TestNodeConfig checks the rendered HCL: Vault's syntax, retry_join inside
// the storage block, cluster_addr = the proxy.
func TestNodeConfig(t *testing.T) {
	net := NewNetwork(nil)
	defer net.Close()
	p, err := net.NewProxy("node1", "127.0.0.12:9999")
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{ID: "node1", APIAddr: "127.0.0.1:8210", ClusterListen: "127.0.0.12:9999", Proxy: p, dataDir: "/d/data"}
	tests := []struct {
		name      string
		leader    string
		wantJoins int
	}{
		{"first node", "", 0},
		{"joining node", "http://127.0.0.1:8200", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg struct {
				Storage map[string]struct {
					Path      string `hcl:"path"`
					NodeID    string `hcl:"node_id"`
					RetryJoin []struct {
						LeaderAPIAddr string `hcl:"leader_api_addr"`
					} `hcl:"retry_join"`
				} `hcl:"storage"`
				Listener map[string]struct {
					Address        string `hcl:"address"`
					ClusterAddress string `hcl:"cluster_address"`
				} `hcl:"listener"`
				APIAddr     string `hcl:"api_addr"`
				ClusterAddr string `hcl:"cluster_addr"`
			}
			text := n.hcl(Options{}.withDefaults(), tt.leader)
			if err := hcl.Decode(&cfg, text); err != nil {
				t.Fatalf("rendered config does not parse: %v\n%s", err, text)
			}
			st := cfg.Storage["raft"]
			if st.Path != "/d/data" || st.NodeID != "node1" || len(st.RetryJoin) != tt.wantJoins {
				t.Fatalf("storage block = %+v\n%s", st, text)
			}
			if tt.wantJoins == 1 && st.RetryJoin[0].LeaderAPIAddr != tt.leader {
				t.Fatalf("retry_join = %+v", st.RetryJoin)
			}
			l := cfg.Listener["tcp"]
			if l.Address != n.APIAddr || l.ClusterAddress != n.ClusterListen {
				t.Fatalf("listener = %+v", l)
			}
			if cfg.APIAddr != "http://127.0.0.1:8210" || cfg.ClusterAddr != "https://"+p.Addr() {
				t.Fatalf("api_addr %q, cluster_addr %q", cfg.APIAddr, cfg.ClusterAddr)
			}
		})
	}
}

// TestHarnessSingleNode drives the whole harness life cycle on one real
// vaultd: init/unseal with 5/3, leader, KV through the client, pause,
// resume, kill -9, restart with unseal, and graceful stop/restart.
func TestHarnessSingleNode(t *testing.T) {
	c := Start(t, 1, Options{})
	n := c.Nodes[0]
	if !strings.HasPrefix(n.ClusterListen, "127.0.0.11:") {
		t.Fatalf("cluster listener %s is not on 127.0.0.11", n.ClusterListen)
	}
	init := c.InitUnseal()
	if len(init.Keys) != 5 || c.RootToken() == "" {
		t.Fatalf("init: %d keys, root token set %v", len(init.Keys), c.RootToken() != "")
	}
	if got := c.WaitLeader(10 * time.Second); got != 0 {
		t.Fatalf("leader = %d", got)
	}
	conn, err := net.DialTimeout("tcp", n.ClusterListen, time.Second)
	if err != nil {
		t.Fatalf("vaultd does not listen on its cluster address %s: %v", n.ClusterListen, err)
	}
	conn.Close()

	cl := c.Client(0, c.RootToken())
	if err := cl.Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount: %v", err)
	}
	ctx := context.Background()
	put := func(v string) error {
		_, err := cl.KVv2("secret").Put(ctx, "k", map[string]any{"v": v})
		return err
	}
	get := func() (any, error) {
		s, err := cl.KVv2("secret").Get(ctx, "k")
		if err != nil {
			return nil, err
		}
		return s.Data["v"], nil
	}
	if err := put("one"); err != nil {
		t.Fatalf("put: %v", err)
	}
	kc, err := newKVClient(c, 0, c.RootToken(), "secret", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("workload client reads", func(t *testing.T) {
		if out, err := kc.get(ctx, "k"); err != nil || out != (kvOutput{Value: "one", Exists: true}) {
			t.Fatalf("get k = %+v, %v", out, err)
		}
		if out, err := kc.get(ctx, "missing"); err != nil || out.Exists {
			t.Fatalf("get of a missing key = %+v, %v; want absent", out, err)
		}
		other := *kc
		other.mount = "not-mounted"
		if out, err := other.get(ctx, "k"); err == nil {
			t.Fatalf("get on an unmounted path = %+v, want an error, not absent", out)
		}
	})

	t.Run("pause and resume", func(t *testing.T) {
		if err := c.Pause(0); err != nil {
			t.Fatal(err)
		}
		short := c.Client(0, c.RootToken())
		short.SetClientTimeout(500 * time.Millisecond)
		if _, err := short.Sys().Health(); err == nil {
			t.Fatal("a paused node answered")
		}
		tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if err := kc.put(tctx, "k", "lost"); err == nil || definitelyFailed(err) {
			t.Fatalf("put to a paused node: %v, want an error of unknown outcome", err)
		}
		if _, err := c.FindLeader(time.Second); !errors.Is(err, ErrNoLeader) {
			t.Fatalf("FindLeader with the only node paused: %v", err)
		}
		if err := c.Pause(0); !errors.Is(err, ErrNodeState) {
			t.Fatalf("second Pause: %v", err)
		}
		if err := c.Resume(0); err != nil {
			t.Fatal(err)
		}
		if v, err := get(); err != nil || (v != "one" && v != "lost") {
			t.Fatalf("after resume: %v, %v", v, err)
		}
		if err := put("one"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("kill and restart", func(t *testing.T) {
		if err := c.Kill(0); err != nil {
			t.Fatal(err)
		}
		if _, err := get(); err == nil {
			t.Fatal("a killed node answered")
		}
		if err := kc.put(ctx, "k", "never"); !definitelyFailed(err) {
			t.Fatalf("put to a killed node: %v, want a definite failure (connection refused)", err)
		}
		if err := c.Resume(0); !errors.Is(err, ErrNodeState) {
			t.Fatalf("Resume of a killed node: %v", err)
		}
		if err := c.Restart(0); err != nil {
			t.Fatal(err)
		}
		c.WaitLeader(10 * time.Second)
		if v, err := get(); err != nil || v != "one" {
			t.Fatalf("after kill -9 and restart: %v, %v", v, err)
		}
	})

	t.Run("restart a running node", func(t *testing.T) {
		if err := put("two"); err != nil {
			t.Fatal(err)
		}
		if err := c.Restart(0); err != nil {
			t.Fatal(err)
		}
		c.WaitLeader(10 * time.Second)
		if v, err := get(); err != nil || v != "two" {
			t.Fatalf("after graceful restart: %v, %v", v, err)
		}
		if !strings.Contains(n.Log(), "=== harness: start #3 of node0") {
			t.Fatal("log capture lost the restarts")
		}
	})

	if err := c.Kill(5); err == nil {
		t.Fatal("Kill of a node that does not exist succeeded")
	}
}

// TestHarnessStartsThreeProcesses checks what the harness can check of a
// 3-node cluster before vaultd can join: three processes, each answering
// its own API and listening on its own cluster IP, with its own proxy.
func TestHarnessStartsThreeProcesses(t *testing.T) {
	c := Start(t, 3, Options{LogLevel: "info"})
	seen := map[string]bool{}
	for i, n := range c.Nodes {
		if want := clusterIP(i) + ":"; !strings.HasPrefix(n.ClusterListen, want) {
			t.Fatalf("%s cluster listener %s, want %s*", n.ID, n.ClusterListen, want)
		}
		conn, err := net.DialTimeout("tcp", n.ClusterListen, time.Second)
		if err != nil {
			t.Fatalf("%s does not listen on %s: %v", n.ID, n.ClusterListen, err)
		}
		conn.Close()
		if _, err := c.Client(i, "").Sys().SealStatus(); err != nil {
			t.Fatalf("%s API: %v", n.ID, err)
		}
		for _, a := range []string{n.APIAddr, n.ClusterListen, n.Proxy.Addr()} {
			if seen[a] {
				t.Fatalf("address %s used twice", a)
			}
			seen[a] = true
		}
	}
	if err := c.Pause(1); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(1); err != nil {
		t.Fatalf("kill of a paused node: %v", err)
	}
	if c.Nodes[1].Running() {
		t.Fatal("killed node reported running")
	}
	if got := c.Others(1); len(got) != 2 || got[0] != 0 || got[1] != 2 {
		t.Fatalf("Others(1) = %v", got)
	}
	c.Partition([]int{0}, c.Others(0))
	want := "node0->node1 node0->node2 node1->node0 node2->node0"
	if got := strings.Join(c.Net.Blocked(), " "); got != want {
		t.Fatalf("blocked after Partition = %q, want %q", got, want)
	}
	if err := c.Recover(); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if len(c.Net.Blocked()) != 0 || !c.Nodes[1].Running() {
		t.Fatalf("after Recover: blocked %v, node1 running %v", c.Net.Blocked(), c.Nodes[1].Running())
	}
}
