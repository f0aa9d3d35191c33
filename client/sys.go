package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Sys groups the sys/ endpoints: init, seal, unseal, health, mounts, the key
// ceremonies (rekey, generate-root) and barrier key rotation.
type Sys struct{ c *Client }

// Sys returns the sys/ helpers.
func (c *Client) Sys() *Sys { return &Sys{c: c} }

// InitRequest is the body of sys/init.
type InitRequest struct {
	SecretShares      int      `json:"secret_shares"`
	SecretThreshold   int      `json:"secret_threshold"`
	PGPKeys           []string `json:"pgp_keys,omitempty"`
	RootTokenPGPKey   string   `json:"root_token_pgp_key,omitempty"`
	StoredShares      int      `json:"stored_shares,omitempty"`
	RecoveryShares    int      `json:"recovery_shares,omitempty"`
	RecoveryThreshold int      `json:"recovery_threshold,omitempty"`
}

// InitResponse is the answer of sys/init: the unseal key shares (hex and
// base64) and the initial root token.
type InitResponse struct {
	Keys      []string `json:"keys"`
	KeysB64   []string `json:"keys_base64"`
	RootToken string   `json:"root_token"`
}

// SealStatus is the answer of sys/seal-status and sys/unseal.
type SealStatus struct {
	Type         string `json:"type"`
	Initialized  bool   `json:"initialized"`
	Sealed       bool   `json:"sealed"`
	T            int    `json:"t"`
	N            int    `json:"n"`
	Progress     int    `json:"progress"`
	Nonce        string `json:"nonce"`
	Version      string `json:"version"`
	BuildDate    string `json:"build_date"`
	Migration    bool   `json:"migration"`
	ClusterName  string `json:"cluster_name,omitempty"`
	ClusterID    string `json:"cluster_id,omitempty"`
	RecoverySeal bool   `json:"recovery_seal"`
	StorageType  string `json:"storage_type,omitempty"`
}

// HealthResponse is the answer of sys/health.
type HealthResponse struct {
	Initialized                bool   `json:"initialized"`
	Sealed                     bool   `json:"sealed"`
	Standby                    bool   `json:"standby"`
	PerformanceStandby         bool   `json:"performance_standby"`
	ReplicationPerformanceMode string `json:"replication_performance_mode,omitempty"`
	ReplicationDRMode          string `json:"replication_dr_mode,omitempty"`
	ServerTimeUTC              int64  `json:"server_time_utc"`
	Version                    string `json:"version"`
	ClusterName                string `json:"cluster_name,omitempty"`
	ClusterID                  string `json:"cluster_id,omitempty"`
}

// Init initializes a new server (PUT sys/init).
func (s *Sys) Init(ctx context.Context, req *InitRequest) (*InitResponse, error) {
	if req == nil {
		return nil, invalidArg("nil InitRequest")
	}
	var out InitResponse
	if err := s.c.raw(ctx, request{method: http.MethodPut, path: "sys/init", body: req}, &out); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	return &out, nil
}

// InitStatus reports whether the server is initialized (GET sys/init).
func (s *Sys) InitStatus(ctx context.Context) (bool, error) {
	var out struct {
		Initialized bool `json:"initialized"`
	}
	if err := s.c.raw(ctx, request{method: http.MethodGet, path: "sys/init"}, &out); err != nil {
		return false, fmt.Errorf("init status: %w", err)
	}
	return out.Initialized, nil
}

// SealStatus returns the seal state (GET sys/seal-status).
func (s *Sys) SealStatus(ctx context.Context) (*SealStatus, error) {
	return s.sealStatus(ctx, request{method: http.MethodGet, path: "sys/seal-status"})
}

// Unseal submits one key share (PUT sys/unseal) and returns the progress.
func (s *Sys) Unseal(ctx context.Context, key string) (*SealStatus, error) {
	if key == "" {
		return nil, invalidArg("empty unseal key")
	}
	body := map[string]any{"key": key}
	return s.sealStatus(ctx, request{method: http.MethodPut, path: "sys/unseal", body: body})
}

// UnsealReset discards the key shares submitted so far (PUT sys/unseal
// {"reset": true}).
func (s *Sys) UnsealReset(ctx context.Context) (*SealStatus, error) {
	body := map[string]any{"reset": true}
	return s.sealStatus(ctx, request{method: http.MethodPut, path: "sys/unseal", body: body})
}

func (s *Sys) sealStatus(ctx context.Context, req request) (*SealStatus, error) {
	var out SealStatus
	if err := s.c.raw(ctx, req, &out); err != nil {
		return nil, fmt.Errorf("seal status: %w", err)
	}
	return &out, nil
}

// Seal seals the server (PUT sys/seal); it needs a token allowed to.
func (s *Sys) Seal(ctx context.Context) error {
	if err := s.c.send(ctx, request{method: http.MethodPut, path: "sys/seal"}); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	return nil
}

// healthCodes are the statuses sys/health uses to describe a node rather
// than to report a failure; their body is a normal health answer.
var healthCodes = map[int]bool{429: true, 472: true, 473: true, 501: true, 503: true}

// Health returns the node's health (GET sys/health). Standby, sealed and
// uninitialized nodes are reported in the answer, not as errors.
func (s *Sys) Health(ctx context.Context) (*HealthResponse, error) {
	q := url.Values{}
	for _, p := range []string{"uninitcode", "sealedcode", "standbycode", "drsecondarycode", "performancestandbycode"} {
		q.Set(p, "299")
	}
	req := request{method: http.MethodGet, path: "sys/health", query: q}
	resp, err := s.c.do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	var out HealthResponse
	if healthCodes[resp.status] {
		if json.Unmarshal(resp.body, &out) == nil {
			return &out, nil
		}
	}
	if err := s.c.check(req, resp); err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	if err := decodeUnwrapped(req, resp.body, &out); err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	return &out, nil
}
