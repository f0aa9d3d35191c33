// Package api is SecretumVault's front end: one implementation of the gRPC
// services in proto/secretumvault/v1, served over two transports on one
// listener. gRPC clients reach the services directly; REST clients reach the
// same code through an in-process grpc-gateway mux serving Vault's HTTP API
// under /v1/, with Vault's JSON bodies, status codes and error envelope.
//
// The package owns the mapping of core and engine errors to HTTP and gRPC
// status codes (errors.go), the rendering of logical responses into Vault's
// response envelope (envelope.go), the request size limit, token extraction
// (X-Vault-Token, Authorization: Bearer, or x-vault-token metadata), TLS
// listener settings and the Prometheus metrics endpoint.
//
// In a cluster, a standby node forwards every request that is not about the
// node itself to the active node over the cluster port (forward.go); the
// active node serves those forwarded requests with ForwardingServer.
package api

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
)

// DefaultMaxRequestSize is the default limit on a request body or gRPC
// message: 32 MiB, as Vault's max_request_size.
const DefaultMaxRequestSize int64 = 32 << 20

// DefaultShutdownTimeout bounds how long Serve waits for in-flight requests
// after its context is cancelled.
const DefaultShutdownTimeout = 10 * time.Second

// Core is what the front end needs of server/core. *core.Core implements it;
// tests may substitute their own.
//
// Every method must be safe for concurrent use. Errors are those of
// engines/logical (wrapped freely): the front end maps them to status codes
// with errors.Is/As and never shows an unrecognised error's text to clients.
type Core interface {
	// HandleRequest runs one request through core's pipeline; req.Path is
	// the full path after /v1/. It may rewrite req (path, mount point,
	// mount type, operation).
	HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error)
	// MountPoint returns the mount owning path, "" if none (metric labels).
	MountPoint(path string) string
}

var _ Core = (*core.Core)(nil)

// Options configure a Server. The zero value is usable: New fills defaults.
type Options struct {
	// UI serves the web UI at /ui/ (Vault's `ui = true`); off by default.
	UI bool
	// Logger receives request failures and server events; default
	// slog.Default(). Secrets, tokens and request bodies are never logged.
	Logger *slog.Logger
	// MaxRequestSize limits HTTP request bodies (413 beyond it) and received
	// gRPC messages; default DefaultMaxRequestSize.
	MaxRequestSize int64
	// Metrics holds the Prometheus registry served at
	// /v1/sys/metrics?format=prometheus; default NewMetrics().
	Metrics *Metrics
	// ShutdownTimeout bounds graceful shutdown in Serve; default
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Cluster tells whether this node is a standby and where the active
	// node is; nil means a single node, which is never a standby.
	Cluster ClusterRole
	// ForwardDial opens a connection to the active node's cluster address
	// (as returned by Cluster). The connection must already be
	// authenticated both ways (vaultd passes server/cluster's mutual-TLS
	// dialer with ALPN "sv-forward/1"): forwarding speaks plaintext gRPC on
	// top of it. Without it a standby answers 503 instead of forwarding.
	ForwardDial func(ctx context.Context, addr string) (net.Conn, error)
	// ForwardCredentials are the gRPC transport credentials of both ends
	// of forwarding: the standby's connection and ForwardingServer. nil
	// means no gRPC-level security (insecure credentials), which is right
	// only because the connections are already mutual TLS: ForwardDial's
	// on one side, the cluster mux's on the other. vaultd passes
	// server/cluster's TransportCredentials, which in addition refuse any
	// connection that is not a completed mutual-TLS one.
	ForwardCredentials credentials.TransportCredentials
	// ForwardPeerTrusted decides, on the active node, whether the
	// cluster-port peer of a forwarded request may speak for its client:
	// only then are the client address and request id it sends used;
	// otherwise the peer's own address and a fresh id are. peer is the
	// connection's verified TLS state (nil if it is not TLS). vaultd
	// passes membership.CurrentMember (a server of the raft
	// configuration). nil trusts every peer that reached the forwarding
	// server (the unit tests, over plain TCP).
	ForwardPeerTrusted func(ctx context.Context, peer *tls.ConnectionState) bool
}

// ClusterRole is the node's place in the cluster as forwarding needs it.
// *core.Core implements it.
type ClusterRole interface {
	// Standby reports whether this node is an unsealed standby, and if so
	// the cluster address of the active node ("" while none is known). A
	// sealed node must report false: it answers 503 sealed itself. Called
	// on every request: it must be cheap and safe for concurrent use.
	Standby() (standby bool, activeClusterAddr string)
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxRequestSize <= 0 {
		o.MaxRequestSize = DefaultMaxRequestSize
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	return o
}

// Server serves the gRPC services and the Vault-compatible REST API. It is
// safe for concurrent use; Handler and Serve may be called more than once.
type Server struct {
	core    Core
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	grpc    *grpc.Server
	gateway *runtime.ServeMux
	handler http.Handler
	// rest is the REST stack without the gRPC dispatch; forwarded requests
	// enter here on the active node.
	rest http.Handler
	// sysMethods lists the methods each Sys REST path accepts.
	sysMethods map[string]map[string]bool
	// fwd holds the connection to the active node (standby side);
	// fwdServer serves forwarded requests (active side).
	fwd       *forwarder
	fwdServer *grpc.Server
}

// New builds a Server around core.
func New(c Core, opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{core: c, opts: opts, log: opts.Logger, metrics: opts.Metrics, sysMethods: sysRoutes()}
	if opts.Cluster != nil && opts.ForwardDial == nil {
		s.log.Warn("api: cluster role without ForwardDial: a standby will answer 503 instead of forwarding")
	}
	s.fwd = newForwarder(opts)
	if src, ok := c.(AuditFailureSource); ok {
		// A registry shared by two servers keeps the first core's figures.
		_ = s.metrics.registry.Register(newAuditCollector(src))
	}
	if src, ok := c.(LeaseStatsSource); ok {
		_ = s.metrics.registry.Register(newLeaseCollector(src))
	}
	if src, ok := c.(RotationStatsSource); ok {
		_ = s.metrics.registry.Register(newRotationCollector(src))
	}
	svc := &service{core: c, log: opts.Logger}
	s.grpc = newGRPCServer(svc, opts, s.metrics, s.proxyInterceptor())
	s.gateway = newGateway(svc, s.log)
	s.rest = s.restHandler()
	s.handler = s.buildHandler()
	s.fwdServer = s.newForwardingServer(svc)
	return s
}

// Handler returns the combined handler: requests with a gRPC content type
// over HTTP/2 go to the gRPC server, everything else to the REST API.
// Serving gRPC needs HTTP/2: TLS with ALPN h2, or unencrypted HTTP/2 with
// prior knowledge enabled on the http.Server (Serve does both).
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics returns the server's metrics (to register further collectors).
func (s *Server) Metrics() *Metrics { return s.metrics }

// ForwardingServer returns the gRPC server that answers standbys on the
// cluster port: the Forwarding service (REST requests) and the Sys and
// Logical services (gRPC calls proxied method for method). Serve it only
// on a listener whose connections are mutually authenticated with the
// cluster CA (vaultd: server/cluster's mux for ALPN "sv-forward/1"): it
// trusts the request id and client address that callers send. Its
// transport credentials are Options.ForwardCredentials (none by default:
// the listener's connections already are TLS). The caller serves and
// stops it (Serve, GracefulStop).
func (s *Server) ForwardingServer() *grpc.Server { return s.fwdServer }

// Close releases the connection to the active node. The server keeps
// working: a later forwarded request dials again. Safe to call more than
// once and concurrently with requests.
func (s *Server) Close() error { return s.fwd.close() }
