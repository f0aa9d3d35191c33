package membership

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/cluster"
)

// The membership service of the cluster port (ALPN cluster.ProtoMember):
// plain HTTP/1.1 inside the port's mutual TLS, so both ends are verified
// against the cluster CA and the deny-list before a byte is exchanged.
// Every node serves it; only the active node answers (503 elsewhere), and
// only to a server of its raft configuration (403 otherwise). Standbys
// call it with keep-alive connections to the leader's cluster address.
const (
	// pathEcho receives a standby's autopilot report (echo.go).
	pathEcho = "/v1/echo"
	// pathCertificate renews the caller's node certificate (renew.go).
	pathCertificate = "/v1/certificate"
	// maxPortBody bounds a request or answer body.
	maxPortBody = 16 << 10
	// portTimeout bounds one call.
	portTimeout = 5 * time.Second
)

// startPort serves the membership service on p's ProtoMember listener
// until the port closes.
func (m *Membership) startPort(p Port) {
	srv := &http.Server{
		Handler:           m.portHandler(),
		ReadHeaderTimeout: portTimeout,
		ReadTimeout:       portTimeout,
		WriteTimeout:      portTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxPortBody,
		ConnContext:       withPeerState,
		ErrorLog:          slog.NewLogLogger(m.logger.Handler(), slog.LevelDebug),
	}
	go func() { _ = srv.Serve(peerListener{p.Listener(cluster.ProtoMember)}) }()
}

// portHandler routes the service's paths through the member check.
func (m *Membership) portHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT "+pathEcho, m.memberOnly(m.serveEcho))
	mux.HandleFunc("POST "+pathCertificate, m.memberOnly(m.serveCertificate))
	return mux
}

// memberHandler serves a request of the verified member peerID.
type memberHandler func(w http.ResponseWriter, r *http.Request, peerID string)

// memberOnly admits requests only on the active node, only from a server
// of the raft configuration, and bounds their bodies.
func (m *Membership) memberOnly(h memberHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		state, ok := r.Context().Value(peerStateKey{}).(tls.ConnectionState)
		peerID := ""
		if ok {
			peerID = cluster.PeerNodeID(state)
		}
		if peerID == "" {
			writePortError(w, ErrNotMember)
			return
		}
		if !m.active() {
			writePortError(w, ErrNotActive)
			return
		}
		peers, err := m.cluster.Peers(r.Context())
		if err != nil {
			writePortError(w, fmt.Errorf("%w: %v", logical.ErrUnavailable, err))
			return
		}
		if !slices.ContainsFunc(peers, func(p Peer) bool { return p.ID == peerID }) {
			m.logger.Warn("membership: cluster-port call from a node outside the raft configuration refused", "node_id", peerID, "path", r.URL.Path)
			writePortError(w, ErrNotMember)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxPortBody)
		h(w, r, peerID)
	}
}

// active reports whether this node runs the active period (autopilot is
// started exactly then) and still leads.
func (m *Membership) active() bool {
	return m.autopilot.running() != nil && m.cluster.IsLeader()
}

// portError is the body of a refused call.
type portError struct {
	Error string `json:"error"`
}

// writePortError answers err with the status its logical error decides.
// The texts are this package's own, never a caller's input.
func writePortError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, logical.ErrPermissionDenied):
		code = http.StatusForbidden
	case errors.Is(err, logical.ErrInvalidRequest):
		code = http.StatusBadRequest
	case errors.Is(err, logical.ErrUnavailable):
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(portError{Error: err.Error()})
}

// peerStateKey is the request-context key of the TLS state of the
// connection a request arrived on.
type peerStateKey struct{}

// peerListener hides the *tls.Conn of accepted connections behind a plain
// net.Conn: net/http would otherwise close connections whose ALPN protocol
// (ProtoMember) it does not know. The verified TLS state travels in the
// request context (withPeerState).
type peerListener struct{ net.Listener }

// peerConn is an accepted cluster-port connection and its TLS state.
type peerConn struct {
	net.Conn
	state tls.ConnectionState
}

// Accept implements net.Listener. A connection that is not cluster TLS
// (the Mux yields none) is closed and skipped: an error here would stop
// the http.Server for good.
func (l peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc, ok := c.(*tls.Conn); ok {
			return &peerConn{Conn: tc, state: tc.ConnectionState()}, nil
		}
		_ = c.Close()
	}
}

// withPeerState is the http.Server's ConnContext.
func withPeerState(ctx context.Context, c net.Conn) context.Context {
	if pc, ok := c.(*peerConn); ok {
		return context.WithValue(ctx, peerStateKey{}, pc.state)
	}
	return ctx
}

// portClient calls the active node's membership service.
type portClient struct {
	http *http.Client
}

func newPortClient(p Port) *portClient {
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return p.DialContext(ctx, addr, cluster.ProtoMember)
		},
		MaxIdleConnsPerHost:   1,
		IdleConnTimeout:       time.Minute,
		ResponseHeaderTimeout: portTimeout,
	}
	return &portClient{http: &http.Client{Transport: tr, Timeout: portTimeout}}
}

// call sends body to path on the node whose cluster address is addr and
// decodes a 200 answer into out (if not nil).
func (c *portClient) call(ctx context.Context, method, addr, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "https://"+addr+path, body)
	if err != nil {
		return fmt.Errorf("membership: %s %s: %w", addr, path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("membership: %s %s: %w", addr, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPortBody))
	if err != nil {
		return fmt.Errorf("membership: %s %s: %w", addr, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var pe portError
		_ = json.Unmarshal(data, &pe)
		return fmt.Errorf("membership: %s %s: status %d: %s", addr, path, resp.StatusCode, strings.TrimSpace(pe.Error))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("membership: %s %s: malformed answer: %w", addr, path, err)
	}
	return nil
}
