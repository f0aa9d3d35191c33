package cli

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// devVaultd is a real "vaultd -dev" process (raft storage, one node) on
// a free loopback port.
type devVaultd struct {
	addr, root string
}

// startDevVaultd builds vaultd and starts it in dev mode.
func startDevVaultd(t *testing.T) *devVaultd {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vaultd")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/vaultd").CombinedOutput(); err != nil {
		t.Fatalf("build vaultd: %v\n%s", err, out)
	}
	port := freePortPair(t)
	d := &devVaultd{addr: fmt.Sprintf("127.0.0.1:%d", port), root: "root-watch-test"}
	cmd := exec.Command(bin, "-dev", "-dev-listen-address="+d.addr, "-dev-root-token-id="+d.root)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + d.addr + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("vaultd exited: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("vaultd not healthy after 30s\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePortPair finds a loopback port p with p+1 free too (vaultd -dev
// listens for its cluster on the next port).
func freePortPair(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		ln.Close()
		if err == nil {
			ln2.Close()
			return p
		}
	}
	t.Fatal("no free port pair")
	return 0
}

// tmuxSession is a detached tmux session on a private server socket.
type tmuxSession struct {
	t            *testing.T
	tmux, socket string
}

func newTmux(t *testing.T, width, height int, command string) *tmuxSession {
	t.Helper()
	s := &tmuxSession{t: t, tmux: requireTool(t, "tmux"), socket: fmt.Sprintf("vaultctl-test-%d", os.Getpid())}
	s.socket += "-" + strings.ReplaceAll(t.Name(), "/", "_")
	s.do("new-session", "-d", "-s", "w", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), command)
	t.Cleanup(func() { _ = exec.Command(s.tmux, "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) do(args ...string) string {
	s.t.Helper()
	out, err := exec.Command(s.tmux, append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the pane shows now.
func (s *tmuxSession) screen() string { return s.do("capture-pane", "-p", "-t", "w") }

// waitScreen polls the pane until ok accepts it (deadline 20s) and
// returns that screen.
func (s *tmuxSession) waitScreen(what string, ok func(string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sc := s.screen()
		if ok(sc) {
			return sc
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never showed %s; last screen:\n%s", what, sc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	clockRe = regexp.MustCompile(`at (\d\d:\d\d:\d\d) \(q quits\)`)
	sockRe  = regexp.MustCompile(`sock/\s+(\d+)\s+(\d+)`)
)

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRunWatchUnderTmux runs "vaultctl status -watch" and "vaultctl
// rotation watch" in a real terminal (tmux) against a real vaultd -dev:
// the view shows the raft node as leader, the seal status, a rotation
// policy's secret with its age and max_age, and the audit devices; it
// refreshes (the clock moves, and the failures of a device whose peer is
// gone count up since the view started) and quits on "q" with exit code 0.
func TestRunWatchUnderTmux(t *testing.T) {
	t.Parallel()
	requireTool(t, "tmux")
	d := startDevVaultd(t)
	env := map[string]string{"VAULT_ADDR": "http://" + d.addr, "VAULT_TOKEN": d.root}
	v := &realVault{t: t, url: env["VAULT_ADDR"], root: d.root}
	v.run(0, "", "secrets", "put", "app/api", "initial")
	v.run(0, "", "write", "sys/rotation/policies/kv-yearly", "match=secret/data/app/*", "schedule=0 0 0 1 1 *", "max_age=1h")
	v.run(0, "", "audit", "enable", "file", "file_path="+filepath.Join(t.TempDir(), "audit.log"))
	// A socket device whose peer is gone fails every entry (the file
	// device still records them, so requests go on).
	v.run(0, "", "audit", "enable", "-path=sock", "socket", "socket_type=tcp", fmt.Sprintf("address=127.0.0.1:%d", closedPort(t)))

	for _, args := range []string{"status -watch", "rotation watch"} {
		t.Run(strings.ReplaceAll(args, " ", "_"), func(t *testing.T) {
			command := fmt.Sprintf("env %s=1 VAULT_ADDR=%s VAULT_TOKEN=%s %s %s; echo WATCH-EXIT=$?; sleep 60",
				envAsMain, env["VAULT_ADDR"], d.root, os.Args[0], args)
			s := newTmux(t, 160, 40, command)
			first := s.waitScreen("the full view", func(sc string) bool {
				return strings.Contains(sc, "secret/data/app/api") && strings.Contains(sc, "file/") && strings.Contains(sc, "sock/") &&
					regexp.MustCompile(`dev\s+\S+\s+yes\s+yes`).MatchString(sc)
			})
			t.Logf("screen:\n%s", first)
			for _, want := range []string{"sealed false", "storage raft", "kv-yearly", "1h0m0s", "ok 1, warn 0, overdue 0", "Since watching"} {
				if !strings.Contains(first, want) {
					t.Errorf("view lacks %q:\n%s", want, first)
				}
			}
			clock := clockRe.FindStringSubmatch(first)
			if clock == nil {
				t.Fatalf("no clock in the header:\n%s", first)
			}
			s.waitScreen("a refreshed frame with new audit failures", func(sc string) bool {
				m := clockRe.FindStringSubmatch(sc)
				f := sockRe.FindStringSubmatch(sc)
				return m != nil && m[1] != clock[1] && f != nil && f[2] != "0"
			})
			s.do("send-keys", "-t", "w", "q")
			last := s.waitScreen("the exit", func(sc string) bool { return strings.Contains(sc, "WATCH-EXIT=") })
			if !strings.Contains(last, "WATCH-EXIT=0") || strings.Contains(last, "(q quits)") {
				t.Fatalf("after q:\n%s", last)
			}
		})
	}
}
