package raft_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/storage/raft"
)

// crashChildEnv, when set to a directory, turns the test binary into the
// writer process of TestCrashDurability (see crash_test.go).
const crashChildEnv = "SECRETUM_RAFT_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(runCrashChild(dir))
	}
	os.Exit(m.Run())
}

// testConfig returns a config with fast timeouts on a free local port.
// RAFT_TEST_LOG=1 sends raft's logs to stderr.
func testConfig(dir string) raft.Config {
	cfg := raft.DefaultConfig()
	cfg.DataDir = dir
	cfg.NodeID = "node1"
	cfg.BindAddr = "127.0.0.1:0"
	cfg.HeartbeatTimeout = 50 * time.Millisecond
	cfg.ElectionTimeout = 50 * time.Millisecond
	cfg.LeaderLeaseTimeout = 50 * time.Millisecond
	if os.Getenv("RAFT_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg
}

// openStore opens, bootstraps and waits for leadership; the store is
// closed at the end of the test unless the test closes it first.
func openStore(tb testing.TB, cfg raft.Config) *raft.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := raft.New(ctx, cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if err := s.Bootstrap(ctx); err != nil {
		tb.Fatalf("Bootstrap: %v", err)
	}
	if err := s.WaitLeader(ctx); err != nil {
		tb.Fatalf("WaitLeader: %v", err)
	}
	if !s.IsLeader() {
		tb.Fatal("single node is not the leader")
	}
	return s
}
