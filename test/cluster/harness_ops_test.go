package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// ErrNoLeader is returned by FindLeader when no single active node shows up
// in time.
var ErrNoLeader = errors.New("cluster: no single active node")

// node returns node i or an error naming the bad index.
func (c *Cluster) node(i int) (*Node, error) {
	if i < 0 || i >= len(c.Nodes) {
		return nil, fmt.Errorf("cluster: no node %d (cluster has %d)", i, len(c.Nodes))
	}
	return c.Nodes[i], nil
}

// Client returns an OpenBao API client for node i with the given token, a
// 10 s timeout and no retries (set a shorter timeout with
// SetClientTimeout). It calls t.Fatal on a bad index.
func (c *Cluster) Client(i int, token string) *vault.Client {
	c.t.Helper()
	n, err := c.node(i)
	if err != nil {
		c.t.Fatal(err)
	}
	cl, err := newClient(n, token)
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

func newClient(n *Node, token string) (*vault.Client, error) {
	cfg := vault.DefaultConfig()
	cfg.Address = n.APIURL()
	cfg.MaxRetries = 0
	cfg.Timeout = 10 * time.Second
	cl, err := vault.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: client for %s: %w", n.ID, err)
	}
	cl.SetToken(token)
	return cl, nil
}

// InitUnseal initializes node0 with the cluster's Shamir parameters and
// unseals every node with the same keys (joined nodes need the cluster's
// keys, as in Vault). It waits up to a minute for joining nodes to report
// initialized, then until autopilot has promoted every node to voter.
// Call it on the test goroutine.
func (c *Cluster) InitUnseal() *vault.InitResponse {
	c.t.Helper()
	cl := c.Client(0, "")
	init, err := cl.Sys().Init(&vault.InitRequest{SecretShares: c.opts.Shares, SecretThreshold: c.opts.Threshold})
	if err != nil {
		c.t.Fatalf("cluster: init node0: %v", err)
	}
	c.mu.Lock()
	c.init = init
	c.mu.Unlock()
	for i := range c.Nodes {
		if err := c.Unseal(i, time.Minute); err != nil {
			c.t.Fatal(err)
		}
	}
	// Joined nodes are non-voters until autopilot promotes them.
	if err := c.WaitVoters(0, len(c.Nodes), 2*time.Minute); err != nil {
		c.t.Fatal(err)
	}
	return init
}

// RootToken is the root token returned by InitUnseal ("" before).
func (c *Cluster) RootToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.init == nil {
		return ""
	}
	return c.init.RootToken
}

// Unseal waits until node i reports initialized and unseals it with the
// threshold of keys from InitUnseal, retrying until timeout.
func (c *Cluster) Unseal(i int, timeout time.Duration) error {
	n, err := c.node(i)
	if err != nil {
		return err
	}
	c.mu.Lock()
	init := c.init
	c.mu.Unlock()
	if init == nil {
		return errors.New("cluster: Unseal before InitUnseal")
	}
	cl, err := newClient(n, "")
	if err != nil {
		return err
	}
	cl.SetClientTimeout(2 * time.Second)
	keys := init.Keys[:c.opts.Threshold]
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = unsealOnce(cl, keys); last == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("cluster: unseal %s within %v: %w", n.ID, timeout, last)
}

// unsealOnce submits keys until the node is unsealed. A node that is not
// yet initialized (a joiner still fetching the challenge) is an error to
// retry.
func unsealOnce(cl *vault.Client, keys []string) error {
	st, err := cl.Sys().SealStatus()
	if err != nil {
		return fmt.Errorf("seal-status: %w", err)
	}
	if !st.Initialized {
		return errors.New("not initialized yet")
	}
	if !st.Sealed {
		return nil
	}
	for _, k := range keys {
		if st, err = cl.Sys().Unseal(k); err != nil {
			return fmt.Errorf("unseal: %w", err)
		}
		if !st.Sealed {
			return nil
		}
	}
	return fmt.Errorf("still sealed after %d keys (progress %d/%d)", len(keys), st.Progress, st.T)
}

// FindLeader polls sys/health on every running node until exactly one
// answers 200 (active) and every other answering node 429 (standby), and
// returns its index. Stopped and paused nodes are skipped.
func (c *Cluster) FindLeader(timeout time.Duration) (int, error) {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	var seen string
	for time.Now().Before(deadline) {
		idx, codes := c.probeHealth(hc)
		if idx >= 0 {
			return idx, nil
		}
		seen = codes
		time.Sleep(100 * time.Millisecond)
	}
	return -1, fmt.Errorf("%w within %v (last sys/health codes: %s)", ErrNoLeader, timeout, seen)
}

// probeHealth returns the single active node (or -1) and a description of
// every node's answer.
func (c *Cluster) probeHealth(hc *http.Client) (int, string) {
	active := -1
	var desc []string
	unsettled := false
	for i, n := range c.Nodes {
		if !n.Running() {
			desc = append(desc, n.ID+"=down")
			continue
		}
		code := 0
		if resp, err := hc.Get(n.APIURL() + "/v1/sys/health"); err == nil {
			code = resp.StatusCode
			resp.Body.Close()
		}
		desc = append(desc, fmt.Sprintf("%s=%d", n.ID, code))
		switch {
		case code == http.StatusOK && active < 0:
			active = i
		case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable:
			// standby, or sealed (a sealed node never serves)
		default:
			unsettled = true
		}
	}
	if unsettled {
		active = -1
	}
	return active, strings.Join(desc, " ")
}

// WaitLeader is FindLeader that calls t.Fatal on failure. Call it on the
// test goroutine.
func (c *Cluster) WaitLeader(timeout time.Duration) int {
	c.t.Helper()
	idx, err := c.FindLeader(timeout)
	if err != nil {
		c.t.Fatal(err)
	}
	return idx
}

// Kill sends SIGKILL to node i (running or paused) and waits for it to exit.
func (c *Cluster) Kill(i int) error {
	n, err := c.node(i)
	if err != nil {
		return err
	}
	return n.kill()
}

// Stop sends SIGTERM to node i (resuming it first if paused) and waits.
func (c *Cluster) Stop(i int) error {
	n, err := c.node(i)
	if err != nil {
		return err
	}
	return n.stop()
}

// Pause freezes node i with SIGSTOP; its sockets stay open but it answers
// nothing.
func (c *Cluster) Pause(i int) error {
	n, err := c.node(i)
	if err != nil {
		return err
	}
	if err := n.signal(syscall.SIGSTOP, statePaused, stateRunning); err != nil {
		return err
	}
	// Signal delivery is asynchronous: wait until the kernel reports the
	// process stopped, so the caller's next request meets a paused node.
	return waitStopped(n.cmd.Process.Pid, 2*time.Second)
}

// waitStopped polls /proc/PID/stat until the process state is T (stopped).
// Where /proc is missing it returns at once.
func waitStopped(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil
		}
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'T' {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d did not stop within %v", pid, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Resume continues a paused node i with SIGCONT.
func (c *Cluster) Resume(i int) error {
	n, err := c.node(i)
	if err != nil {
		return err
	}
	return n.signal(syscall.SIGCONT, stateRunning, statePaused)
}

// Restart starts a stopped (killed or stopped) node i again on the same
// config and data directory and, if the cluster was initialized, unseals
// it with the cluster's keys. A running node is stopped first.
func (c *Cluster) Restart(i int) error {
	n, err := c.node(i)
	if err != nil {
		return err
	}
	if err := n.stop(); err != nil {
		return err
	}
	if err := n.start(c.opts.StartTimeout); err != nil {
		return err
	}
	if c.RootToken() == "" {
		return nil
	}
	return c.Unseal(i, time.Minute)
}

// Partition cuts the cluster traffic between nodes in different groups
// (given by index), both ways; a node in no group stays connected to all.
func (c *Cluster) Partition(groups ...[]int) {
	ids := make([][]string, len(groups))
	for g, group := range groups {
		for _, i := range group {
			ids[g] = append(ids[g], nodeID(i))
		}
	}
	c.Net.Partition(ids...)
}

// Heal removes every partition and block.
func (c *Cluster) Heal() { c.Net.Heal() }

// Others returns every node index except the given ones.
func (c *Cluster) Others(except ...int) []int {
	var out []int
	for i := range c.Nodes {
		if !slices.Contains(except, i) {
			out = append(out, i)
		}
	}
	return out
}

// Recover undoes every fault: heals the network, resumes paused nodes and
// restarts (and unseals) stopped ones.
func (c *Cluster) Recover() error {
	c.Heal()
	var errs []error
	for i, n := range c.Nodes {
		n.mu.Lock()
		state := n.state
		n.mu.Unlock()
		switch state {
		case statePaused:
			errs = append(errs, c.Resume(i))
		case stateStopped:
			errs = append(errs, c.Restart(i))
		}
	}
	return errors.Join(errs...)
}
