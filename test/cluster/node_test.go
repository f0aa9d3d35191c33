package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Node is one vaultd process of a Cluster and its addresses.
type Node struct {
	Index         int
	ID            string // raft node id, "node<Index>"
	APIAddr       string // 127.0.0.1:port
	ClusterListen string // 127.0.0.(11+Index):port, the real cluster listener
	Proxy         *Proxy // advertised as cluster_addr

	dataDir string
	config  string
	log     *logBuffer

	mu     sync.Mutex
	state  procState
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
}

// procState is what the harness did last to a node's process.
type procState int

const (
	stateStopped procState = iota
	stateRunning
	statePaused
)

// ErrNodeState is returned by lifecycle calls that do not fit the node's
// current state (Pause of a stopped node, Restart of a running one, ...).
var ErrNodeState = errors.New("cluster: node is not in a state for this operation")

// logBuffer collects a process's stdout and stderr across restarts.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// APIURL is the node's API base URL, http://127.0.0.1:port.
func (n *Node) APIURL() string { return "http://" + n.APIAddr }

// Log returns everything the node's processes wrote so far.
func (n *Node) Log() string { return n.log.String() }

// Running reports whether the process is up and not paused.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state == stateRunning
}

// start launches the process and waits until its API answers.
func (n *Node) start(timeout time.Duration) error {
	exited, err := n.launch()
	if err != nil {
		return err
	}
	return n.waitAPI(exited, timeout)
}

// launch starts the process without waiting; the returned channel closes
// when it exits.
func (n *Node) launch() (<-chan struct{}, error) {
	n.mu.Lock()
	if n.state != stateStopped {
		n.mu.Unlock()
		return nil, fmt.Errorf("start %s: %w", n.ID, ErrNodeState)
	}
	n.starts++
	fmt.Fprintf(n.log, "=== harness: start #%d of %s at %s ===\n", n.starts, n.ID, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(vaultdBin, "-config", n.config)
	cmd.Stdout, cmd.Stderr = n.log, n.log
	// Each node runs in its own directory (where its config is), so that a
	// relative path in its configuration, or a file audit device's
	// relative file_path, is the node's own.
	cmd.Dir = filepath.Dir(n.config)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		n.mu.Unlock()
		return nil, fmt.Errorf("start %s: %w", n.ID, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	n.cmd, n.exited, n.state = cmd, exited, stateRunning
	n.mu.Unlock()
	return exited, nil
}

// waitAPI polls sys/seal-status until the API answers, the process exits or
// the timeout passes.
func (n *Node) waitAPI(exited <-chan struct{}, timeout time.Duration) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(n.APIURL() + "/v1/sys/seal-status")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			n.markStopped()
			return fmt.Errorf("%s exited during start-up:\n%s", n.ID, tail(n.Log(), 30))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer on %s within %v", n.ID, n.APIAddr, timeout)
}

func (n *Node) markStopped() {
	n.mu.Lock()
	n.state = stateStopped
	n.mu.Unlock()
}

// signal sends sig to a node in one of the allowed states and moves it to
// state next.
func (n *Node) signal(sig syscall.Signal, next procState, allowed ...procState) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ok := false
	for _, s := range allowed {
		ok = ok || n.state == s
	}
	if !ok {
		return fmt.Errorf("signal %v to %s: %w", sig, n.ID, ErrNodeState)
	}
	if err := n.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to %s: %w", sig, n.ID, err)
	}
	n.state = next
	fmt.Fprintf(n.log, "=== harness: %v sent to %s at %s ===\n", sig, n.ID, time.Now().Format(time.RFC3339Nano))
	return nil
}

// kill sends SIGKILL (to a running or paused process) and waits for exit.
func (n *Node) kill() error {
	if err := n.signal(syscall.SIGKILL, stateStopped, stateRunning, statePaused); err != nil {
		return err
	}
	return n.waitExit(10 * time.Second)
}

// stop resumes a paused process, sends SIGTERM and waits; after 20 s it
// falls back to SIGKILL. Stopping a stopped node is a no-op.
func (n *Node) stop() error {
	n.mu.Lock()
	state := n.state
	n.mu.Unlock()
	switch state {
	case stateStopped:
		return nil
	case statePaused:
		if err := n.signal(syscall.SIGCONT, stateRunning, statePaused); err != nil {
			return err
		}
	}
	if err := n.signal(syscall.SIGTERM, stateStopped, stateRunning); err != nil {
		return err
	}
	if err := n.waitExit(20 * time.Second); err != nil {
		n.mu.Lock()
		n.cmd.Process.Kill()
		n.mu.Unlock()
		if kerr := n.waitExit(10 * time.Second); kerr != nil {
			return kerr
		}
		return fmt.Errorf("%s ignored SIGTERM, killed: %w", n.ID, err)
	}
	return nil
}

func (n *Node) waitExit(timeout time.Duration) error {
	n.mu.Lock()
	exited := n.exited
	n.mu.Unlock()
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s did not exit within %v", n.ID, timeout)
	}
}
