package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// runDev starts one node with raft in a temporary directory, initialises
// it with a single key share, unseals it and mounts kv-v2 at secret/.
func runDev(ctx context.Context, f *flags, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "vaultd-dev-")
	if err != nil {
		return fmt.Errorf("dev data directory: %w", err)
	}
	defer os.RemoveAll(dir)
	cfg := &Config{
		UI:       true,
		Storage:  StorageConfig{Type: "raft", Path: dir, NodeID: "dev"},
		Listener: ListenerConfig{Type: "tcp", Address: f.devListenAddress, TLSDisable: true},
		APIAddr:  "http://" + f.devListenAddress,
	}
	cfg.ClusterAddr = "https://" + cfg.clusterListenAddr()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	n, err := startNode(ctx, cfg, logger)
	if err != nil {
		return err
	}
	key, root, err := n.core.InitializeDev(ctx, f.devRootTokenID)
	if err != nil {
		return fmt.Errorf("dev init: %w", err)
	}
	fmt.Fprintf(stdout, `WARNING! dev mode is enabled! In this mode, vaultd runs with a single
unseal key and data in a temporary directory that is deleted on exit.

You may need to set the following environment variables:

    export VAULT_ADDR='http://%s'

Unseal Key: %s
Root Token: %s

Development mode should NOT be used in production installations!
`, f.devListenAddress, key, root)
	return n.wait(ctx)
}
