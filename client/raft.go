package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Raft groups the sys/storage/raft/ endpoints: membership and snapshots.
// Snapshot calls stream their bodies: neither direction is held in memory
// nor capped by WithMaxResponseBytes, and the client timeout (WithTimeout)
// bounds inactivity — the call fails when no byte has moved for that long —
// rather than the whole transfer.
type Raft struct{ c *Client }

// Raft returns the sys/storage/raft/ helpers.
func (c *Client) Raft() *Raft { return &Raft{c: c} }

// RaftPeer is one server of the raft configuration.
type RaftPeer struct {
	NodeID          string `json:"node_id"`
	Address         string `json:"address"`
	Leader          bool   `json:"leader"`
	Voter           bool   `json:"voter"`
	ProtocolVersion string `json:"protocol_version"`
}

// RaftJoinRequest is the body of sys/storage/raft/join, sent to the node
// that should join, naming the cluster it joins.
type RaftJoinRequest struct {
	// LeaderAPIAddr is the API address of a node of the cluster, e.g.
	// "https://10.0.0.1:8200".
	LeaderAPIAddr string `json:"leader_api_addr"`
	// LeaderCACert is the PEM CA certificate that verifies LeaderAPIAddr.
	LeaderCACert string `json:"leader_ca_cert,omitempty"`
	// NonVoter joins as a non-voting member.
	NonVoter bool `json:"non_voter,omitempty"`
}

// Paths of the raft endpoints, relative to /v1/.
const (
	raftConfigurationPath = "sys/storage/raft/configuration"
	raftJoinPath          = "sys/storage/raft/join"
	raftRemovePeerPath    = "sys/storage/raft/remove-peer"
	raftSnapshotPath      = "sys/storage/raft/snapshot"
	raftSnapshotForcePath = "sys/storage/raft/snapshot-force"
	contentTypeSnapshot   = "application/octet-stream"
)

// Peers returns the servers of the raft configuration (GET
// sys/storage/raft/configuration); it needs a root token.
func (r *Raft) Peers(ctx context.Context) ([]RaftPeer, error) {
	req := request{method: http.MethodGet, path: raftConfigurationPath}
	resp, err := r.c.do(ctx, req)
	if err == nil {
		err = r.c.check(req, resp)
	}
	if err != nil {
		return nil, fmt.Errorf("raft peers: %w", err)
	}
	var env struct {
		Data *struct {
			Config *struct {
				Servers []RaftPeer `json:"servers"`
			} `json:"config"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.body, &env); err != nil {
		return nil, fmt.Errorf("raft peers: client: %s %s: decode answer: %w", req.method, displayPath(req.path), err)
	}
	if env.Data == nil || env.Data.Config == nil {
		return nil, fmt.Errorf("raft peers: client: %s %s: answer carries no data.config", req.method, displayPath(req.path))
	}
	if env.Data.Config.Servers == nil {
		return []RaftPeer{}, nil
	}
	return env.Data.Config.Servers, nil
}

// Join asks the node the client talks to to join the cluster of
// req.LeaderAPIAddr (POST sys/storage/raft/join) and reports whether it
// joined. No token is needed: the node is not part of a cluster yet.
func (r *Raft) Join(ctx context.Context, req *RaftJoinRequest) (bool, error) {
	if req == nil || req.LeaderAPIAddr == "" {
		return false, invalidArg("raft join needs a leader API address")
	}
	var out struct {
		Joined bool `json:"joined"`
	}
	if err := r.c.raw(ctx, request{method: http.MethodPost, path: raftJoinPath, body: req}, &out); err != nil {
		return false, fmt.Errorf("raft join: %w", err)
	}
	return out.Joined, nil
}

// RemovePeer removes the server with node id from the raft configuration
// (POST sys/storage/raft/remove-peer).
func (r *Raft) RemovePeer(ctx context.Context, id string) error {
	if id == "" {
		return invalidArg("raft remove-peer needs a node id")
	}
	body := map[string]any{"server_id": id}
	if err := r.c.send(ctx, request{method: http.MethodPost, path: raftRemovePeerPath, body: body}); err != nil {
		return fmt.Errorf("raft remove-peer %s: %w", id, err)
	}
	return nil
}

// SaveSnapshot streams a snapshot of the cluster (GET
// sys/storage/raft/snapshot) into w and returns the number of bytes
// written. It succeeds only when the server answered 200 and the body
// arrived whole: a stream that ends early (the server aborts the
// connection when the snapshot fails mid-way) returns an error matching
// ErrIncompleteStream, an empty answer too. On error, w may hold a partial
// snapshot that the caller must discard.
func (r *Raft) SaveSnapshot(ctx context.Context, w io.Writer) (int64, error) {
	if w == nil {
		return 0, invalidArg("nil snapshot writer")
	}
	n, err := r.saveSnapshot(ctx, w)
	if err != nil {
		return n, fmt.Errorf("raft snapshot save: %w", err)
	}
	return n, nil
}

func (r *Raft) saveSnapshot(ctx context.Context, w io.Writer) (int64, error) {
	req := streamRequest{method: http.MethodGet, path: raftSnapshotPath, accept: contentTypeSnapshot}
	ctx, wd, stop := newWatchdog(ctx, r.c.timeout)
	defer stop()
	hresp, err := r.c.openStream(ctx, req)
	if err != nil {
		return 0, err
	}
	defer hresp.Body.Close()
	if err := r.c.checkStream(req, hresp); err != nil {
		return 0, err
	}
	if hresp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("client: %s %s: unexpected status %d %s", req.method, displayPath(req.path),
			hresp.StatusCode, http.StatusText(hresp.StatusCode))
	}
	cw := &countingWriter{w: w}
	_, err = io.Copy(cw, &kickReader{r: hresp.Body, w: wd})
	switch {
	case cw.err != nil:
		return cw.n, fmt.Errorf("write snapshot after %d bytes: %w", cw.n, cw.err)
	case err != nil:
		return cw.n, fmt.Errorf("%w after %d bytes: %w", ErrIncompleteStream, cw.n, streamCause(ctx, err))
	case cw.n == 0:
		return 0, fmt.Errorf("%w: the server sent an empty snapshot", ErrIncompleteStream)
	}
	return cw.n, nil
}

// RestoreSnapshot streams the snapshot read from src to the cluster (POST
// sys/storage/raft/snapshot, or snapshot-force when force is set, which
// accepts a snapshot of another cluster) as application/octet-stream. Only
// the server limits its size. Once src is exhausted the inactivity timeout
// no longer applies: installing a large snapshot may take longer, and the
// wait for the server's answer is bounded by ctx alone.
func (r *Raft) RestoreSnapshot(ctx context.Context, src io.Reader, force bool) error {
	if src == nil {
		return invalidArg("nil snapshot reader")
	}
	if err := r.restoreSnapshot(ctx, src, force); err != nil {
		return fmt.Errorf("raft snapshot restore: %w", err)
	}
	return nil
}

func (r *Raft) restoreSnapshot(ctx context.Context, src io.Reader, force bool) error {
	path := raftSnapshotPath
	if force {
		path = raftSnapshotForcePath
	}
	ctx, wd, stop := newWatchdog(ctx, r.c.timeout)
	defer stop()
	body := &kickReader{r: src, w: wd, onEOF: wd.pause}
	req := streamRequest{method: http.MethodPost, path: path, body: body, contentType: contentTypeSnapshot}
	hresp, err := r.c.openStream(ctx, req)
	if serr := body.sourceErr(); serr != nil {
		if hresp != nil {
			hresp.Body.Close()
		}
		return fmt.Errorf("read snapshot source: %w", serr)
	}
	if err != nil {
		return err
	}
	defer hresp.Body.Close()
	if err := r.c.checkStream(req, hresp); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(hresp.Body, r.c.maxBytes))
	if hresp.StatusCode/100 != 2 {
		return fmt.Errorf("client: %s %s: unexpected status %d %s", req.method, displayPath(req.path),
			hresp.StatusCode, http.StatusText(hresp.StatusCode))
	}
	return nil
}
