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

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/server/membership"
	raftstore "github.com/secretumvault/secretumvault/storage/raft"
)

// flags are vaultd's command-line options.
type flags struct {
	configPath       string
	dev              bool
	devRootTokenID   string
	devListenAddress string
	devCluster       int
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
	fs.StringVar(&f.devListenAddress, "dev-listen-address", "127.0.0.1:8200", "listen address in -dev mode (first node's in -dev-cluster mode)")
	fs.IntVar(&f.devCluster, "dev-cluster", 0, "start N (>= 3) vaultd processes on consecutive loopback ports as one dev cluster")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case f.devCluster != 0:
		err = runDevCluster(ctx, &f, stdout, stderr)
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
	go n.reopenOnHangup(ctx)
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

// node is a running vaultd: storage, cluster port, core and API server.
type node struct {
	logger *slog.Logger
	store  *raftstore.Store
	mux    *cluster.Mux
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
	rc.AdvertiseAddr = cfg.clusterAdvertiseAddr()
	rc.Logger = logger.With(slog.String("component", "raft"))
	if cfg.Storage.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = uint64(cfg.Storage.SnapshotThreshold)
	}
	if cfg.Storage.TrailingLogs > 0 {
		rc.TrailingLogs = uint64(cfg.Storage.TrailingLogs)
	}
	rc.WALSegmentSize = cfg.Storage.WALSegmentSize
	if d, err := cfg.Storage.snapshotInterval(); err == nil && d > 0 {
		rc.SnapshotInterval = d
	}
	store, err := raftstore.New(ctx, rc)
	if err != nil {
		return nil, fmt.Errorf("open raft storage: %w", err)
	}
	n := &node{logger: logger, store: store, served: make(chan error, 1)}
	if err := n.start(ctx, cfg, rc); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

func (n *node) start(ctx context.Context, cfg *Config, rc raftstore.Config) error {
	mux, err := cluster.Listen(rc.BindAddr, nil, cluster.ProtoRaft, cluster.ProtoForward, cluster.ProtoMember)
	if err != nil {
		return fmt.Errorf("cluster listener on %s: %w", rc.BindAddr, err)
	}
	n.mux = mux
	dialer, err := cluster.NewDialer(rc.BindAddr, mux.Identity)
	if err != nil {
		return err
	}
	rcl := membership.NewRaftCluster(n.store, mux, dialer, rc.AdvertiseAddr)
	cc := core.Config{
		Physical: n.store, Logger: n.logger.With(slog.String("component", "core")),
		StorageType: "raft", APIAddr: cfg.APIAddr, ClusterAddr: cfg.ClusterAddr,
		Cluster: rcl, Audit: cfg.auditConfig(), RotationPolicies: cfg.RotationPolicies,
		RotationWebhookHosts: cfg.RotationWebhookHosts,
	}
	if cc.Membership.NodeCertTTL, err = cfg.clusterCertTTL(); err != nil {
		return err
	}
	if cfg.RotationCheckInterval != "" {
		if cc.RotationCheckInterval, err = framework.ParseDuration(cfg.RotationCheckInterval); err != nil {
			return fmt.Errorf("config: rotation_check_interval: %w", err)
		}
	}
	if cfg.Seal != nil {
		if cc.StaticSealKey, err = cfg.Seal.staticSealKey(); err != nil {
			return err
		}
	}
	c, err := core.New(cc)
	if err != nil {
		return err
	}
	n.core = c
	tlsCfg, err := listenerTLS(&cfg.Listener)
	if err != nil {
		return err
	}
	httpCfg, err := cfg.Listener.apiConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listener.Address)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listener.Address, err)
	}
	srv := api.New(c, api.Options{
		UI:                 cfg.UI,
		Logger:             n.logger.With(slog.String("component", "api")),
		Cluster:            c,
		ForwardDial:        dialer.GRPCDialer(cluster.ProtoForward),
		ForwardCredentials: cluster.TransportCredentials(),
		ForwardPeerTrusted: membership.CurrentMember(rcl),
	})
	fwd := srv.ForwardingServer()
	go func() { _ = fwd.Serve(mux.Listener(cluster.ProtoForward)) }()
	go func() {
		<-ctx.Done()
		fwd.Stop()
		_ = srv.Close()
	}()
	go func() { n.served <- srv.ServeListener(ctx, ln, tlsCfg, httpCfg) }()
	n.logger.Info("vaultd: listening", "address", ln.Addr().String(), "tls", tlsCfg != nil,
		"cluster_address", rc.BindAddr, "cluster_addr", rc.AdvertiseAddr, "node_id", rc.NodeID,
		"unauthenticated_metrics_access", httpCfg.UnauthenticatedMetricsAccess)
	if len(cfg.Storage.RetryJoin) > 0 {
		leaders := make([]*membership.JoinParams, 0, len(cfg.Storage.RetryJoin))
		for _, rj := range cfg.Storage.RetryJoin {
			p, err := rj.joinParams()
			if err != nil {
				return err
			}
			leaders = append(leaders, p)
		}
		go c.RetryJoin(ctx, leaders)
	}
	if cfg.Seal != nil {
		go n.autoUnseal(ctx)
	}
	return nil
}

// autoUnseal unseals an initialised node with the static seal key at
// start-up (unattended restarts).
func (n *node) autoUnseal(ctx context.Context) {
	if ok, err := n.core.Initialized(ctx); err != nil || !ok {
		return
	}
	if err := n.core.AutoUnseal(ctx); err != nil {
		n.logger.Error("vaultd: static seal could not unseal this node", "error", err)
		return
	}
	n.logger.Info("vaultd: unsealed with the static seal key")
}

func listenerTLS(l *ListenerConfig) (*tls.Config, error) {
	if l.TLSDisable {
		return nil, nil
	}
	return api.TLSConfig(l.TLSCertFile, l.TLSKeyFile, l.TLSMinVersion)
}

// close releases storage and the cluster port.
func (n *node) close() {
	if n.mux != nil {
		_ = n.mux.Close()
	}
	if err := n.store.Close(); err != nil {
		n.logger.Error("vaultd: close storage", "error", err)
	}
}

// reopenOnHangup reopens the file audit devices on SIGHUP, after log
// rotation moved their files away (logrotate's postrotate, as for Vault).
func (n *node) reopenOnHangup(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := n.core.ReopenAuditFiles(); err != nil {
				n.logger.Error("vaultd: reopen audit files", "error", err)
				continue
			}
			n.logger.Info("vaultd: audit files reopened")
		}
	}
}

// wait blocks until the server stops (ctx cancelled by a signal), then
// closes storage.
func (n *node) wait(ctx context.Context) error {
	err := <-n.served
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	n.core.Shutdown(sctx)
	cancel()
	n.close()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	n.logger.Info("vaultd: stopped")
	return nil
}
