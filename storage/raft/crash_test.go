package raft_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/raft"
)

const crashWriters = 4

func crashKey(w, i int) string { return fmt.Sprintf("crash/%d/%06d", w, i) }

// runCrashChild is the writer process of TestCrashDurability: it opens the
// store in dir, prints "ready", then has crashWriters goroutines write
// keys forever, printing "ack <writer> <i>" after each Put returns. It
// runs until it is killed.
func runCrashChild(dir string) int {
	ctx := context.Background()
	s, err := raft.New(ctx, testConfig(dir))
	if err == nil {
		err = s.Bootstrap(ctx)
	}
	if err == nil {
		err = s.WaitLeader(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	fmt.Fprintln(os.Stdout, "ready")
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				k := crashKey(w, i)
				if err := s.Put(ctx, &storage.Entry{Key: k, Value: []byte(k)}); err != nil {
					fmt.Fprintln(os.Stderr, "crash child: put:", err)
					return
				}
				// One write(2) per line: atomic on a pipe.
				fmt.Fprintf(os.Stdout, "ack %d %d\n", w, i)
			}
		}()
	}
	wg.Wait()
	return 1
}

// TestCrashDurability re-executes the test binary as a writer, SIGKILLs it
// mid-stream, reopens its data directory and checks every write the child
// acknowledged is there.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked, killedAt := readAcks(t, cmd, out)
	state := cmd.ProcessState
	if ws, ok := state.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", state)
	}
	total := 0
	for _, n := range acked {
		total += n
	}
	t.Logf("child acknowledged %d writes (%d when killed)", total, killedAt)

	s := openStore(t, testConfig(dir))
	ctx := context.Background()
	unacked := 0
	for w := range crashWriters {
		n := acked[w]
		for i := range n {
			k := crashKey(w, i)
			e, err := s.Get(ctx, k)
			if err != nil || e == nil || string(e.Value) != k {
				t.Fatalf("acknowledged write %s lost after kill -9: %+v, %v", k, e, err)
			}
		}
		// A write in flight at the kill may or may not have committed.
		if e, _ := s.Get(ctx, crashKey(w, n)); e != nil {
			unacked++
		}
	}
	t.Logf("%d in-flight writes committed without their ack", unacked)
}

// readAcks reads the child's acks, kills it with SIGKILL once it has
// acknowledged enough writes, drains the pipe and waits for it. It returns
// how many consecutive writes each writer acknowledged.
func readAcks(t *testing.T, cmd *exec.Cmd, out interface{ Read([]byte) (int, error) }) (map[int]int, int) {
	t.Helper()
	const killAfter = 400
	acked := map[int]int{}
	total, killedAt := 0, 0
	timer := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if line == "ready" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "ack" {
			continue // a line torn by the kill
		}
		w, _ := strconv.Atoi(f[1])
		i, _ := strconv.Atoi(f[2])
		if i != acked[w] {
			t.Fatalf("writer %d acked %d after %d", w, i, acked[w])
		}
		acked[w] = i + 1
		total++
		if total == killAfter {
			killedAt = total
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = cmd.Wait()
	if killedAt == 0 {
		t.Fatalf("child exited after %d acks before being killed", total)
	}
	return acked, killedAt
}
