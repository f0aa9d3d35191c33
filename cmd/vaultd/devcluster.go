package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// devNode is one child vaultd of -dev-cluster.
type devNode struct {
	name, api, cluster, config, log string
	cmd                             *exec.Cmd
}

// runDevCluster starts n vaultd child processes on consecutive loopback
// ports (API base, base+10, ...; cluster port = API port + 1), joins them
// with retry_join, initialises the first, unseals all, mounts kv-v2 at
// secret/, prints the addresses and the root token, and stops every child
// on SIGINT/SIGTERM.
func runDevCluster(ctx context.Context, f *flags, stdout, stderr io.Writer) error {
	if f.devCluster < 3 {
		return fmt.Errorf("-dev-cluster needs at least 3 nodes, got %d", f.devCluster)
	}
	host, portStr, err := net.SplitHostPort(f.devListenAddress)
	if err != nil {
		return fmt.Errorf("-dev-listen-address: %w", err)
	}
	base, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("-dev-listen-address port: %w", err)
	}
	dir, err := os.MkdirTemp("", "vaultd-dev-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	nodes := make([]*devNode, f.devCluster)
	for i := range nodes {
		nodes[i], err = writeDevNode(dir, host, base+10*i, i, nodes)
		if err != nil {
			return err
		}
	}
	defer stopDevNodes(nodes)
	for _, n := range nodes {
		if err := n.start(self); err != nil {
			return err
		}
	}
	key, root, err := initDevCluster(ctx, nodes, f.devRootTokenID)
	if err != nil {
		return fmt.Errorf("dev cluster: %w (logs under %s)", err, dir)
	}
	fmt.Fprintf(stdout, "WARNING! dev cluster mode: %d vaultd processes, one unseal key, data deleted on exit.\n\n", len(nodes))
	for _, n := range nodes {
		fmt.Fprintf(stdout, "    %s  api http://%s  cluster %s  log %s\n", n.name, n.api, n.cluster, n.log)
	}
	fmt.Fprintf(stdout, "\n    export VAULT_ADDR='http://%s'\n\nUnseal Key: %s\nRoot Token: %s\n\nPress Ctrl-C to stop all nodes.\n", nodes[0].api, key, root)
	return waitDevNodes(ctx, nodes)
}

func writeDevNode(dir, host string, port, i int, nodes []*devNode) (*devNode, error) {
	n := &devNode{
		name:    fmt.Sprintf("node%d", i+1),
		api:     net.JoinHostPort(host, strconv.Itoa(port)),
		cluster: net.JoinHostPort(host, strconv.Itoa(port+1)),
	}
	data := filepath.Join(dir, n.name)
	n.config, n.log = data+".hcl", data+".log"
	join := ""
	if i > 0 {
		join = fmt.Sprintf("retry_join {\n    leader_api_addr = \"http://%s\"\n  }", nodes[0].api)
	}
	hcl := fmt.Sprintf(`storage "raft" {
  path    = %q
  node_id = %q
  %s
}
listener "tcp" {
  address         = %q
  cluster_address = %q
  tls_disable     = true
}
api_addr     = "http://%s"
cluster_addr = "https://%s"
ui           = true
`, data, n.name, join, n.api, n.cluster, n.api, n.cluster)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	return n, os.WriteFile(n.config, []byte(hcl), 0o600)
}

func (n *devNode) start(self string) error {
	logf, err := os.Create(n.log)
	if err != nil {
		return err
	}
	n.cmd = exec.Command(self, "-config", n.config)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	return nil
}

// initDevCluster initialises the first node and unseals every node; the
// others join through retry_join once they see the challenge.
func initDevCluster(ctx context.Context, nodes []*devNode, rootID string) (key, root string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	first, err := devClient(nodes[0], "")
	if err != nil {
		return "", "", err
	}
	if err := waitUp(ctx, first); err != nil {
		return "", "", err
	}
	init, err := first.Sys().Init(ctx, &client.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return "", "", err
	}
	key, root = init.KeysB64[0], init.RootToken
	for _, n := range nodes {
		if err := unsealDevNode(ctx, n, key); err != nil {
			return "", "", err
		}
	}
	first.SetToken(root)
	if rootID != "" {
		if _, err := first.Write(ctx, "auth/token/create", map[string]any{"id": rootID, "policies": []string{"root"}, "no_parent": true}); err != nil {
			return "", "", err
		}
		root = rootID
		first.SetToken(root)
	}
	if err := first.Sys().EnableMount(ctx, "secret", &client.MountInput{Type: "kv-v2"}); err != nil {
		return "", "", err
	}
	return key, root, nil
}

// unsealDevNode retries until the node has its join challenge (a joining
// node reports "not initialized" until then) and is unsealed.
func unsealDevNode(ctx context.Context, n *devNode, key string) error {
	c, err := devClient(n, "")
	if err != nil {
		return err
	}
	for {
		st, err := c.Sys().Unseal(ctx, key)
		if err == nil && !st.Sealed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("unseal %s: %w (last error: %v)", n.name, ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func devClient(n *devNode, token string) (*client.Client, error) {
	return client.New(client.WithAddress("http://"+n.api), client.WithToken(token), client.WithEnv(func(string) string { return "" }))
}

func waitUp(ctx context.Context, c *client.Client) error {
	for {
		if _, err := c.Sys().SealStatus(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("first node did not start")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func waitDevNodes(ctx context.Context, nodes []*devNode) error {
	exited := make(chan string, len(nodes))
	for _, n := range nodes {
		go func() { _ = n.cmd.Wait(); exited <- n.name }()
	}
	select {
	case <-ctx.Done():
		return nil
	case name := <-exited:
		return fmt.Errorf("%s exited unexpectedly", name)
	}
}

func stopDevNodes(nodes []*devNode) {
	for _, n := range nodes {
		if n != nil && n.cmd != nil && n.cmd.Process != nil {
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, n := range nodes {
		if n == nil || n.cmd == nil || n.cmd.Process == nil {
			continue
		}
		for n.cmd.ProcessState == nil && time.Now().Before(deadline) {
			if err := n.cmd.Process.Signal(syscall.Signal(0)); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = n.cmd.Process.Kill()
	}
}
