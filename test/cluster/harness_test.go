// Package cluster tests SecretumVault clusters of real vaultd processes on
// 127.0.0.1: a fault-injecting proxy in front of each node's cluster port, a
// harness that starts, kills, pauses, restarts and partitions nodes, and a
// linearizability check of KV v2 under those faults with porcupine.
//
// Every file of this package is a _test.go file, so none of it can be
// imported by production code.
package cluster

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// vaultdBin is the vaultd binary: $SECRETUM_VAULTD_BIN if set (a prebuilt
// binary), else built once by TestMain from ../../cmd/vaultd.
var vaultdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "secretum-cluster-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	vaultdBin = os.Getenv("SECRETUM_VAULTD_BIN")
	if vaultdBin != "" {
		// Absolute: every node runs in its own directory.
		if vaultdBin, err = filepath.Abs(vaultdBin); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if vaultdBin == "" {
		vaultdBin = filepath.Join(dir, "vaultd")
		cmd := exec.Command("go", "build", "-o", vaultdBin, "../../cmd/vaultd")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build vaultd: %v\n", err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Options configures a test cluster. The zero value is valid.
type Options struct {
	// Shares and Threshold are the Shamir parameters of InitUnseal
	// (default 5 and 3, as Vault's operator init).
	Shares, Threshold int
	// LogLevel is every node's log_level (default "debug").
	LogLevel string
	// StartTimeout bounds the wait for a started process to answer its API
	// (default 30s).
	StartTimeout time.Duration
	// StorageHCL is inserted into every node's storage "raft" block (e.g.
	// snapshot_threshold = 64).
	StorageHCL string
	// ExtraHCL is appended to every node's configuration (e.g. a seal
	// block).
	ExtraHCL string
}

func (o Options) withDefaults() Options {
	if o.Shares == 0 {
		o.Shares = 5
	}
	if o.Threshold == 0 {
		o.Threshold = 3
	}
	if o.LogLevel == "" {
		o.LogLevel = "debug"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 30 * time.Second
	}
	return o
}

// Cluster is N vaultd processes on 127.0.0.1. Node i listens for the API on
// 127.0.0.1:<free port>, for cluster traffic on 127.0.0.(11+i):<free port>,
// and advertises the address of its Proxy as cluster_addr, so that every
// raft and forwarding connection to it passes the fault layer Net.
//
// Lifecycle methods (Kill, Pause, Resume, Stop, Restart, FindLeader,
// Partition, Heal) are safe to call from any goroutine and return errors;
// methods that take no error return (Start, InitUnseal, WaitLeader) call
// t.Fatal and belong on the test goroutine.
type Cluster struct {
	t     testing.TB
	opts  Options
	Net   *Network
	Nodes []*Node

	mu   sync.Mutex
	init *vault.InitResponse
}

// Start writes an HCL config per node and starts n vaultd processes. Nodes
// other than node0 carry a retry_join block pointing at node0's API. Every
// process is stopped, and the logs of all nodes are saved and summarized if
// the test failed, by t.Cleanup.
func Start(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("cluster: Start needs at least one node, got %d", n)
	}
	for attempt := 1; ; attempt++ {
		c, err := tryStart(t, n, opts)
		if err == nil {
			t.Cleanup(c.cleanup)
			return c
		}
		c.stopAll()
		// A port found free can be taken by another process before the
		// node binds it: start again on fresh ports.
		if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			t.Logf("cluster: start attempt %d lost a port race; retrying: %v", attempt, err)
			continue
		}
		c.dumpLogs()
		t.Fatalf("cluster: %v", err)
	}
}

// tryStart starts n nodes; on error the caller stops what it started.
// The data directories are made before the caller registers the cleanup:
// cleanups run last-in first-out, and the processes must stop before
// t.TempDir's cleanup removes their directories.
func tryStart(t testing.TB, n int, opts Options) (*Cluster, error) {
	c := &Cluster{t: t, opts: opts.withDefaults()}
	ipToNode := make(map[string]string, n)
	for i := range n {
		ipToNode[clusterIP(i)] = nodeID(i)
	}
	c.Net = NewNetwork(ipToNode)
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = t.TempDir()
	}
	for i := range n {
		node, err := c.newNode(dirs[i], i)
		if err != nil {
			return c, err
		}
		c.Nodes = append(c.Nodes, node)
	}
	for i, node := range c.Nodes {
		leader := ""
		if i > 0 {
			leader = c.Nodes[0].APIURL()
		}
		if err := os.WriteFile(node.config, []byte(node.hcl(c.opts, leader)), 0o600); err != nil {
			return c, fmt.Errorf("write config of %s: %w", node.ID, err)
		}
	}
	// Launch every process first: a joining node may need node0 up to
	// finish starting.
	exits := make([]<-chan struct{}, n)
	for i, node := range c.Nodes {
		exited, err := node.launch()
		if err != nil {
			return c, err
		}
		exits[i] = exited
	}
	for i, node := range c.Nodes {
		if err := node.waitAPI(exits[i], c.opts.StartTimeout); err != nil {
			return c, err
		}
	}
	return c, nil
}

// nodeID is the raft node id of node i.
func nodeID(i int) string { return fmt.Sprintf("node%d", i) }

// clusterIP is the loopback IP node i binds its cluster listener to and
// dials its peers from.
func clusterIP(i int) string { return fmt.Sprintf("127.0.0.%d", 11+i) }

// freeAddr returns a currently free TCP address on ip.
func freeAddr(ip string) (string, error) {
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		return "", fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (c *Cluster) newNode(dir string, i int) (*Node, error) {
	api, err := freeAddr("127.0.0.1")
	if err != nil {
		return nil, err
	}
	clusterListen, err := freeAddr(clusterIP(i))
	if err != nil {
		return nil, err
	}
	proxy, err := c.Net.NewProxy(nodeID(i), clusterListen)
	if err != nil {
		return nil, err
	}
	return &Node{
		Index: i, ID: nodeID(i), APIAddr: api, ClusterListen: clusterListen, Proxy: proxy,
		dataDir: filepath.Join(dir, "data"), config: filepath.Join(dir, nodeID(i)+".hcl"),
		log: &logBuffer{},
	}, nil
}

// hcl renders the node's config; leaderAPI, if set, adds a retry_join block
// inside the storage block (Vault's syntax).
func (n *Node) hcl(opts Options, leaderAPI string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "storage \"raft\" {\n  path    = %q\n  node_id = %q\n", n.dataDir, n.ID)
	if leaderAPI != "" {
		fmt.Fprintf(&b, "  retry_join {\n    leader_api_addr = %q\n  }\n", leaderAPI)
	}
	b.WriteString(opts.StorageHCL)
	b.WriteString("}\n")
	fmt.Fprintf(&b, "listener \"tcp\" {\n  address         = %q\n  cluster_address = %q\n  tls_disable     = true\n}\n",
		n.APIAddr, n.ClusterListen)
	fmt.Fprintf(&b, "api_addr      = %q\n", n.APIURL())
	fmt.Fprintf(&b, "cluster_addr  = %q\n", "https://"+n.Proxy.Addr())
	fmt.Fprintf(&b, "disable_mlock = true\nlog_level     = %q\nlog_format    = \"json\"\n", opts.LogLevel)
	b.WriteString(opts.ExtraHCL)
	return b.String()
}

// cleanup stops every process, closes the proxies and, if the test failed,
// saves every node's log to a directory that outlives the test.
func (c *Cluster) cleanup() {
	c.stopAll()
	if c.t.Failed() {
		c.dumpLogs()
	}
}

// stopAll stops every node and the proxies.
func (c *Cluster) stopAll() {
	for _, n := range c.Nodes {
		if err := n.stop(); err != nil {
			c.t.Errorf("cluster: stop %s: %v", n.ID, err)
		}
	}
	if c.Net != nil {
		if err := c.Net.Close(); err != nil {
			c.t.Errorf("cluster: close proxies: %v", err)
		}
	}
}

// dumpLogs writes each node's full log to a kept temp directory and prints
// the last lines of each to the test log.
func (c *Cluster) dumpLogs() {
	dir, err := os.MkdirTemp("", "secretum-cluster-logs-")
	if err != nil {
		c.t.Logf("cluster: cannot save node logs: %v", err)
		return
	}
	for _, n := range c.Nodes {
		path := filepath.Join(dir, n.ID+".log")
		text := n.log.String()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			c.t.Logf("cluster: save %s: %v", path, err)
		}
		c.t.Logf("cluster: %s log saved to %s; last lines:\n%s", n.ID, path, tail(text, 40))
	}
	c.t.Logf("cluster: network stats %+v, blocked %v", c.Net.Stats(), c.Net.Blocked())
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
