package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/secretumvault/secretumvault/server/core"
)

// RaftCore is the optional raft power of a Core (found by assertion): the
// sys/storage/raft endpoints. *core.Core implements it.
type RaftCore interface {
	Join(ctx context.Context, p *core.JoinParams) error
	RaftChallenge(ctx context.Context, serverID string) (map[string]any, error)
	RaftAnswer(ctx context.Context, p *core.RaftAnswerParams) (map[string]any, error)
	RaftConfiguration(ctx context.Context, token string) ([]core.Peer, error)
	RaftRemovePeer(ctx context.Context, token, serverID string) error
	RaftSnapshotSave(ctx context.Context, token string, w io.Writer) error
	RaftSnapshotRestore(ctx context.Context, token string, r io.Reader, force bool) error
}

var _ RaftCore = (*core.Core)(nil)

const raftPrefix = "/v1/sys/storage/raft/"

// serveRaft answers the sys/storage/raft endpoints, whose bodies (binary
// snapshots, unauthenticated join handshakes) do not fit the Logical
// service. It reports whether it handled r.
func (s *Server) serveRaft(w http.ResponseWriter, r *http.Request) bool {
	rc, ok := s.core.(RaftCore)
	if !ok || !strings.HasPrefix(r.URL.Path, raftPrefix) {
		return false
	}
	op := strings.TrimPrefix(r.URL.Path, raftPrefix)
	h, ok := raftRoutes[op]
	if !ok {
		return false
	}
	if !h.methods[r.Method] {
		writeError(w, newStatusError(http.StatusMethodNotAllowed, nil))
		return true
	}
	if err := h.serve(s, rc, w, r); err != nil {
		writeError(w, toStatusError(err))
	}
	return true
}

type raftRoute struct {
	methods map[string]bool
	serve   func(s *Server, rc RaftCore, w http.ResponseWriter, r *http.Request) error
}

var (
	put      = map[string]bool{http.MethodPut: true, http.MethodPost: true}
	get      = map[string]bool{http.MethodGet: true}
	getOrPut = map[string]bool{http.MethodGet: true, http.MethodPut: true, http.MethodPost: true}
)

var raftRoutes = map[string]raftRoute{
	"join":                {put, serveJoin},
	"bootstrap/challenge": {put, serveChallenge},
	"bootstrap/answer":    {put, serveAnswer},
	"configuration":       {get, serveConfiguration},
	"remove-peer":         {put, serveRemovePeer},
	"snapshot":            {getOrPut, serveSnapshot},
	"snapshot-force":      {put, serveSnapshot},
	// raft_autopilot.go
	"autopilot/configuration": {getOrPut, serveAutopilotConfig},
	"autopilot/state":         {get, serveAutopilotState},
	"autopilot/echo":          {put, serveAutopilotEcho},
}

func decodeJSONBody(r *http.Request, into any) error {
	if r.Body == nil {
		return nil
	}
	if err := json.NewDecoder(r.Body).Decode(into); err != nil && !errors.Is(err, io.EOF) {
		return newStatusError(http.StatusBadRequest, err, msgBadJSON)
	}
	return nil
}

func writeData(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data, "warnings": nil, "auth": nil, "wrap_info": nil})
}

func serveJoin(_ *Server, rc RaftCore, w http.ResponseWriter, r *http.Request) error {
	var in struct {
		LeaderAPIAddr    string `json:"leader_api_addr"`
		LeaderCACert     string `json:"leader_ca_cert"`
		LeaderClientCert string `json:"leader_client_cert"`
		LeaderClientKey  string `json:"leader_client_key"`
		NonVoter         bool   `json:"non_voter"`
		Retry            bool   `json:"retry"`
	}
	if err := decodeJSONBody(r, &in); err != nil {
		return err
	}
	p := &core.JoinParams{LeaderAPIAddr: in.LeaderAPIAddr, LeaderCACert: in.LeaderCACert,
		LeaderClientCert: in.LeaderClientCert, LeaderClientKey: in.LeaderClientKey, NonVoter: in.NonVoter, Retry: in.Retry}
	if err := rc.Join(r.Context(), p); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write([]byte(`{"joined":true}` + "\n"))
	return err
}

func serveChallenge(_ *Server, rc RaftCore, w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ServerID string `json:"server_id"`
	}
	if err := decodeJSONBody(r, &in); err != nil {
		return err
	}
	out, err := rc.RaftChallenge(r.Context(), in.ServerID)
	if err != nil {
		return err
	}
	writeData(w, out)
	return nil
}

func serveAnswer(_ *Server, rc RaftCore, w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ServerID    string `json:"server_id"`
		Answer      string `json:"answer"`
		ClusterAddr string `json:"cluster_addr"`
		PublicKey   string `json:"public_key"`
		NonVoter    bool   `json:"non_voter"`
	}
	if err := decodeJSONBody(r, &in); err != nil {
		return err
	}
	answer, err1 := base64.StdEncoding.DecodeString(in.Answer)
	pub, err2 := base64.StdEncoding.DecodeString(in.PublicKey)
	if err := errors.Join(err1, err2); err != nil {
		return newStatusError(http.StatusBadRequest, err, "answer and public_key must be base64")
	}
	out, err := rc.RaftAnswer(r.Context(), &core.RaftAnswerParams{ServerID: in.ServerID, Answer: answer, ClusterAddr: in.ClusterAddr, PublicKey: pub, NonVoter: in.NonVoter})
	if err != nil {
		return err
	}
	writeData(w, out)
	return nil
}

func serveConfiguration(_ *Server, rc RaftCore, w http.ResponseWriter, r *http.Request) error {
	peers, err := rc.RaftConfiguration(r.Context(), headerToken(r.Header))
	if err != nil {
		return err
	}
	servers := make([]map[string]any, len(peers))
	for i, p := range peers {
		servers[i] = map[string]any{"node_id": p.ID, "address": p.Address, "leader": p.Leader, "voter": p.Voter, "protocol_version": "3"}
	}
	writeData(w, map[string]any{"config": map[string]any{"servers": servers}})
	return nil
}

func serveRemovePeer(_ *Server, rc RaftCore, w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ServerID string `json:"server_id"`
	}
	if err := decodeJSONBody(r, &in); err != nil {
		return err
	}
	if err := rc.RaftRemovePeer(r.Context(), headerToken(r.Header), in.ServerID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// serveSnapshot streams a snapshot (GET) or restores one (POST/PUT). A
// save that fails after the first byte aborts the connection, so a client
// never mistakes a truncated snapshot for a complete one.
func serveSnapshot(s *Server, rc RaftCore, w http.ResponseWriter, r *http.Request) error {
	token := headerToken(r.Header)
	if r.Method != http.MethodGet {
		force := strings.HasSuffix(r.URL.Path, "snapshot-force")
		if err := rc.RaftSnapshotRestore(r.Context(), token, r.Body, force); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	sw := &snapshotWriter{w: w}
	err := rc.RaftSnapshotSave(r.Context(), token, sw)
	if err != nil && sw.started {
		s.log.ErrorContext(r.Context(), "api: snapshot stream failed mid-way; aborting the response", "error", err)
		panic(http.ErrAbortHandler)
	}
	return err
}

// snapshotWriter sets the headers on the first byte, so an error before
// any data can still become a proper error response.
type snapshotWriter struct {
	w       http.ResponseWriter
	started bool
}

func (sw *snapshotWriter) Write(p []byte) (int, error) {
	if !sw.started {
		sw.started = true
		sw.w.Header().Set("Content-Type", "application/octet-stream")
		sw.w.Header().Set("Content-Disposition", `attachment; filename="raft.snap"`)
		sw.w.WriteHeader(http.StatusOK)
	}
	return sw.w.Write(p)
}

// isSnapshotUpload reports a snapshot restore, whose body is exempt from
// the JSON body size limit.
func isSnapshotUpload(r *http.Request) bool {
	return r.Method != http.MethodGet && (r.URL.Path == raftPrefix+"snapshot" || r.URL.Path == raftPrefix+"snapshot-force")
}
