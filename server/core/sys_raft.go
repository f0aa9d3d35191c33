package core

import (
	"context"
	"encoding/base64"
	"io"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/membership"
)

// raftPaths are the sys/storage/raft/ endpoints: join and its handshake
// (unauthenticated: a joining node has no token), and the operator's
// membership and snapshot operations (sudo). The handlers decode, call
// server/membership and render Vault's shapes; the sequencing that is the
// core's (the state lock around a join, the active state after a restore)
// stays here.
func (c sysHandlers) raftPaths() []*framework.Path {
	str := func() *framework.FieldSchema { return &framework.FieldSchema{Type: framework.TypeString} }
	boolean := func() *framework.FieldSchema { return &framework.FieldSchema{Type: framework.TypeBool} }
	return []*framework.Path{
		{
			Pattern: "storage/raft/join", Unauthenticated: true, Local: true,
			Fields: map[string]*framework.FieldSchema{
				"leader_api_addr": str(), "leader_ca_cert": str(), "leader_client_cert": str(), "leader_client_key": str(),
				"non_voter": boolean(), "retry": boolean(),
			},
			Operations: writeOp(c.handleRaftJoin), HelpSynopsis: "Join this node to a raft cluster.",
		},
		{
			Pattern: "storage/raft/bootstrap/challenge", Unauthenticated: true,
			Fields:     map[string]*framework.FieldSchema{"server_id": str()},
			Operations: writeOp(c.handleRaftChallenge), HelpSynopsis: "Hand a joining node its challenge.",
		},
		{
			Pattern: "storage/raft/bootstrap/answer", Unauthenticated: true,
			Fields: map[string]*framework.FieldSchema{
				"server_id": str(), "answer": str(), "cluster_addr": str(), "public_key": str(), "non_voter": boolean(),
			},
			Operations: writeOp(c.handleRaftAnswer), HelpSynopsis: "Admit a joining node that answered its challenge.",
		},
		{
			Pattern: "storage/raft/configuration", Sudo: true,
			Operations: readOp(c.handleRaftConfiguration), HelpSynopsis: "The raft configuration.",
		},
		{
			Pattern: "storage/raft/remove-peer", Sudo: true,
			Fields:     map[string]*framework.FieldSchema{"server_id": str()},
			Operations: writeOp(c.handleRaftRemovePeer), HelpSynopsis: "Remove a server from the raft configuration.",
		},
		{
			Pattern: "storage/raft/snapshot", Sudo: true, Local: true, RawBody: true,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: c.handleSnapshotSave, logical.UpdateOperation: c.handleSnapshotRestore(false),
			},
			HelpSynopsis: "Save (GET) or restore (POST) a snapshot of the whole store.",
		},
		{
			Pattern: "storage/raft/snapshot-force", Sudo: true, Local: true, RawBody: true,
			Operations:   writeOp(c.handleSnapshotRestore(true)),
			HelpSynopsis: "Restore a snapshot, even of another cluster.",
		},
	}
}

type joinInput struct {
	LeaderAPIAddr    string `json:"leader_api_addr"`
	LeaderCACert     string `json:"leader_ca_cert"`
	LeaderClientCert string `json:"leader_client_cert"`
	LeaderClientKey  string `json:"leader_client_key"`
	NonVoter         bool   `json:"non_voter"`
	Retry            bool   `json:"retry"`
}

func (c sysHandlers) handleRaftJoin(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in joinInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	p := membership.JoinParams(in)
	if err := c.Join(ctx, &p); err != nil {
		return nil, err
	}
	return &logical.Response{Raw: map[string]any{"joined": true}}, nil
}

func (c sysHandlers) handleRaftChallenge(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	m, err := c.membership()
	if err != nil {
		return nil, err
	}
	ch, err := m.IssueChallenge(ctx, d.String("server_id"))
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"challenge":   base64.StdEncoding.EncodeToString(ch.Challenge),
		"keyring":     base64.StdEncoding.EncodeToString(ch.Keyring),
		"seal_config": ch.SealConfig,
	}
	if ch.StaticSeal != nil {
		out["static_seal"] = base64.StdEncoding.EncodeToString(ch.StaticSeal)
	}
	if ch.WrappedRootKey != nil {
		out["wrapped_root_key"] = base64.StdEncoding.EncodeToString(ch.WrappedRootKey)
	}
	return &logical.Response{Data: out}, nil
}

type answerInput struct {
	ServerID    string `json:"server_id"`
	Answer      string `json:"answer"`
	ClusterAddr string `json:"cluster_addr"`
	PublicKey   string `json:"public_key"`
	NonVoter    bool   `json:"non_voter"`
}

func (c sysHandlers) handleRaftAnswer(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	m, err := c.membership()
	if err != nil {
		return nil, err
	}
	var in answerInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	answer, err := base64.StdEncoding.DecodeString(in.Answer)
	if err != nil {
		return nil, logical.InvalidRequest("answer", "must be base64")
	}
	pub, err := base64.StdEncoding.DecodeString(in.PublicKey)
	if err != nil {
		return nil, logical.InvalidRequest("public_key", "must be base64")
	}
	adm, err := m.Admit(ctx, &membership.Answer{ServerID: in.ServerID, Answer: answer, ClusterAddr: in.ClusterAddr, PublicKey: pub, NonVoter: in.NonVoter})
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"ca_cert":   string(adm.CACert),
		"node_cert": base64.StdEncoding.EncodeToString(adm.NodeCert),
		"peers":     adm.Peers,
	}}, nil
}

func (c sysHandlers) handleRaftConfiguration(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	m, err := c.membership()
	if err != nil {
		return nil, err
	}
	peers, err := m.Configuration(ctx)
	if err != nil {
		return nil, err
	}
	servers := make([]map[string]any, len(peers))
	for i, p := range peers {
		servers[i] = map[string]any{"node_id": p.ID, "address": p.Address, "leader": p.Leader, "voter": p.Voter, "protocol_version": "3"}
	}
	return &logical.Response{Data: map[string]any{"config": map[string]any{"servers": servers}}}, nil
}

func (c sysHandlers) handleRaftRemovePeer(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	m, err := c.membership()
	if err != nil {
		return nil, err
	}
	return nil, m.RemovePeer(ctx, d.String("server_id"))
}

// handleSnapshotSave streams the snapshot archive to req.ResponseWriter.
func (c sysHandlers) handleSnapshotSave(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	if req.ResponseWriter == nil {
		return nil, logical.InvalidRequest("", "a snapshot is binary: download it over HTTP")
	}
	m, err := c.membership()
	if err != nil {
		return nil, err
	}
	return nil, m.SaveSnapshot(ctx, req.ResponseWriter)
}

// handleSnapshotRestore installs the archive streamed in req.Body.
func (c sysHandlers) handleSnapshotRestore(force bool) framework.OperationHandler {
	return func(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
		if req.Body == nil {
			return nil, logical.InvalidRequest("", "a snapshot restore needs the archive as the request body")
		}
		return nil, c.restoreSnapshot(ctx, req.Body, force)
	}
}

// restoreSnapshot installs a snapshot archive cluster-wide and rebuilds
// the active state from it; if this node's keys do not open the restored
// keyring (another cluster's snapshot), the node seals, to be unsealed
// with that cluster's keys, as in Vault.
func (c *Core) restoreSnapshot(ctx context.Context, r io.Reader, force bool) error {
	m, err := c.membership()
	if err != nil {
		return err
	}
	// The active period ends once the archive is verified and before the
	// state is replaced: no active-only service may write (under this
	// cluster's keys) into another cluster's restored state.
	stopped := false
	defer func() {
		if stopped {
			c.transitionLock.Unlock()
		}
	}()
	err = m.RestoreSnapshot(ctx, r, force, func() {
		c.transitionLock.Lock()
		stopped = true
		c.clearActive()
	})
	if err != nil {
		if stopped {
			if aerr := c.becomeActive(ctx); aerr != nil {
				c.logger.Error("core: could not resume after a failed restore", "error", aerr)
			}
		}
		return err
	}
	if !stopped {
		c.transitionLock.Lock()
		stopped = true
		c.clearActive()
	}
	if err := c.becomeActive(ctx); err != nil {
		c.logger.Warn("core: restored state does not open with this node's keys; sealing", "error", err)
		c.stateLock.Lock()
		c.sealLocked()
		c.stateLock.Unlock()
	}
	return nil
}
