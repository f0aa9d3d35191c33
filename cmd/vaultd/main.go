// Command vaultd is the SecretumVault server.
//
//	vaultd -config node.hcl
//	vaultd -dev [-dev-root-token-id=ID] [-dev-listen-address=127.0.0.1:8200]
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/core"
	raftstore "github.com/secretumvault/secretumvault/storage/raft"
)

// flags are vaultd's command-line options.
type flags struct {
	configPath       string
	dev              bool
	devRootTokenID   string
	devListenAddress string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var f flags
	fs := flag.NewFlagSet("vaultd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.configPath, "config", "", "path to the HCL configuration file")
	fs.BoolVar(&f.dev, "dev", false, "start one in-process dev node: temporary raft storage, initialized, unsealed, kv-v2 at secret/")
	fs.StringVar(&f.devRootTokenID, "dev-root-token-id", "", "root token id to use in -dev mode")
	fs.StringVar(&f.devListenAddress, "dev-listen-address", "127.0.0.1:8200", "listen address in -dev mode")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case f.dev:
		err = runDev(ctx, &f, stdout, stderr)
	case f.configPath != "":
		err = runConfig(ctx, f.configPath, stderr)
	default:
		fmt.Fprintln(stderr, "vaultd: one of -config FILE or -dev is required")
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "vaultd: %v\n", err)
		return 1
	}
	return 0
}

func runConfig(ctx context.Context, path string, stderr io.Writer) error {
	cfg, warnings, err := LoadConfig(path)
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
	n, err := startNode(ctx, cfg, logger)
	if err != nil {
		return err
	}
	return n.wait(ctx)
}

func newLogger(cfg *Config, w io.Writer) (*slog.Logger, error) {
	level, err := parseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// node is a running vaultd: storage, core and API server.
type node struct {
	logger *slog.Logger
	store  *raftstore.Store
	core   *core.Core
	served chan error
}

func startNode(ctx context.Context, cfg *Config, logger *slog.Logger) (*node, error) {
	rc := raftstore.DefaultConfig()
	rc.DataDir = cfg.Storage.Path
	rc.NodeID = cfg.Storage.NodeID
	if rc.NodeID == "" {
		host, _ := os.Hostname()
		rc.NodeID = host
	}
	rc.BindAddr = cfg.clusterListenAddr()
	rc.AdvertiseAddr = rc.BindAddr
	rc.Logger = logger.With(slog.String("component", "raft"))
	store, err := raftstore.New(ctx, rc)
	if err != nil {
		return nil, fmt.Errorf("open raft storage: %w", err)
	}
	if err := bootstrap(ctx, store); err != nil {
		store.Close()
		return nil, err
	}
	c, err := core.New(core.Config{
		Physical: store, Logger: logger.With(slog.String("component", "core")),
		StorageType: "raft", APIAddr: cfg.APIAddr, ClusterAddr: cfg.ClusterAddr,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	tlsCfg, err := listenerTLS(&cfg.Listener)
	if err != nil {
		store.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listener.Address)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listener.Address, err)
	}
	srv := api.New(c, api.Options{Logger: logger.With(slog.String("component", "api"))})
	n := &node{logger: logger, store: store, core: c, served: make(chan error, 1)}
	go func() { n.served <- srv.Serve(ctx, ln, tlsCfg) }()
	logger.Info("vaultd: listening", "address", ln.Addr().String(), "tls", tlsCfg != nil, "cluster_address", rc.BindAddr)
	return n, nil
}

func bootstrap(ctx context.Context, store *raftstore.Store) error {
	if err := store.Bootstrap(ctx); err != nil {
		return fmt.Errorf("bootstrap raft: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := store.WaitLeader(wctx); err != nil {
		return fmt.Errorf("wait for raft leader: %w", err)
	}
	return nil
}

func listenerTLS(l *ListenerConfig) (*tls.Config, error) {
	if l.TLSDisable {
		return nil, nil
	}
	return api.TLSConfig(l.TLSCertFile, l.TLSKeyFile, l.TLSMinVersion)
}

// wait blocks until the server stops (ctx cancelled by a signal), then
// closes storage.
func (n *node) wait(ctx context.Context) error {
	err := <-n.served
	if cerr := n.store.Close(); cerr != nil {
		n.logger.Error("vaultd: close storage", "error", cerr)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	n.logger.Info("vaultd: stopped")
	return nil
}
