package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// devClusterBase finds a base port whose +0/+1, +10/+11, +20/+21 are free.
func devClusterBase(t *testing.T) int {
	t.Helper()
	for base := 31200; base < 40000; base += 100 {
		free := true
		for _, off := range []int{0, 1, 10, 11, 20, 21} {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+off))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port range for a dev cluster")
	return 0
}

// TestDevCluster runs the README's first command: vaultd -dev-cluster=3
// starts three processes that form one unsealed cluster; any node answers;
// SIGINT stops them all.
func TestDevCluster(t *testing.T) {
	base := devClusterBase(t)
	cmd := exec.Command(filepath.Join(binDir, "vaultd"), "-dev-cluster=3", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", base))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	tokenRe := regexp.MustCompile(`Root Token: (\S+)`)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var root string
	var out strings.Builder
	timeout := time.After(2 * time.Minute)
	for root == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("vaultd -dev-cluster exited:\n%s", out.String())
			}
			out.WriteString(l + "\n")
			if m := tokenRe.FindStringSubmatch(l); m != nil {
				root = m[1]
			}
		case <-timeout:
			t.Fatalf("no root token printed within 2m:\n%s", out.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	client := func(i int) *vault.Client {
		cfg := vault.DefaultConfig()
		cfg.Address = fmt.Sprintf("http://127.0.0.1:%d", base+10*i)
		c, err := vault.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(root)
		return c
	}
	ctx := context.Background()
	if _, err := client(1).KVv2("secret").Put(ctx, "dev", map[string]any{"v": "cluster"}); err != nil {
		t.Fatalf("write through node2: %v", err)
	}
	got, err := client(2).KVv2("secret").Get(ctx, "dev")
	if err != nil || got.Data["v"] != "cluster" {
		t.Fatalf("read through node3: %+v, %v", got, err)
	}
	peers, err := client(0).Logical().Read("sys/storage/raft/configuration")
	if err != nil || len(peers.Data["config"].(map[string]any)["servers"].([]any)) != 3 {
		t.Fatalf("configuration: %v, %v", peers, err)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("vaultd -dev-cluster did not stop on SIGINT")
	}
	for i := range 3 {
		addr := fmt.Sprintf("127.0.0.1:%d", base+10*i)
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("node %s still listening after SIGINT", addr)
		}
	}
}
