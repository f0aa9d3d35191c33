package core

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// sealPaths are the node-local seal and status endpoints: they describe or
// change the node that received them, whatever its state.
func (c sysHandlers) sealPaths() []*framework.Path {
	return []*framework.Path{
		{
			Pattern: "init", Unauthenticated: true, Local: true,
			Fields: map[string]*framework.FieldSchema{
				"secret_shares":      {Type: framework.TypeInt},
				"secret_threshold":   {Type: framework.TypeInt},
				"pgp_keys":           {Type: framework.TypeStringSlice},
				"root_token_pgp_key": {Type: framework.TypeString},
				"stored_shares":      {Type: framework.TypeInt},
				"recovery_shares":    {Type: framework.TypeInt},
				"recovery_threshold": {Type: framework.TypeInt},
				"recovery_pgp_keys":  {Type: framework.TypeStringSlice},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   c.handleInitStatus,
				logical.UpdateOperation: c.handleInit,
			},
			HelpSynopsis: "Initialize a new server: root key, unseal key shares, root token.",
		},
		{
			Pattern: "unseal", Unauthenticated: true, Local: true,
			Fields: map[string]*framework.FieldSchema{
				"key":     {Type: framework.TypeString},
				"reset":   {Type: framework.TypeBool},
				"migrate": {Type: framework.TypeBool},
			},
			Operations:   writeOp(c.handleUnseal),
			HelpSynopsis: "Submit one unseal key share, or reset the unseal progress.",
		},
		{
			Pattern: "seal-status", Unauthenticated: true, Local: true,
			Operations: readOp(c.handleSealStatus), HelpSynopsis: "The node's seal state.",
		},
		{
			Pattern: "seal", Local: true, Sudo: true,
			Operations: writeOp(c.handleSeal), HelpSynopsis: "Seal the node.",
		},
		{
			Pattern: "health", Unauthenticated: true, Local: true,
			Operations: readOp(c.handleHealth), HelpSynopsis: "The node's health, for load balancers.",
		},
		{
			Pattern: "leader", Unauthenticated: true, Local: true,
			Operations: readOp(c.handleLeader), HelpSynopsis: "Where the active node is.",
		},
	}
}

type initInput struct {
	SecretShares      int      `json:"secret_shares"`
	SecretThreshold   int      `json:"secret_threshold"`
	PGPKeys           []string `json:"pgp_keys"`
	RootTokenPGPKey   string   `json:"root_token_pgp_key"`
	StoredShares      int      `json:"stored_shares"`
	RecoveryShares    int      `json:"recovery_shares"`
	RecoveryThreshold int      `json:"recovery_threshold"`
	RecoveryPGPKeys   []string `json:"recovery_pgp_keys"`
}

func (c sysHandlers) handleInitStatus(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	ok, err := c.Initialized(ctx)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"initialized": ok}}, nil
}

func (c sysHandlers) handleInit(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in initInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.RecoveryThreshold != 0 || len(in.RecoveryPGPKeys) > 0 {
		return nil, logical.InvalidRequest("recovery_threshold", "recovery keys are only used with auto-unseal, which is not supported")
	}
	res, err := c.Initialize(ctx, &InitParams{
		SecretShares: in.SecretShares, SecretThreshold: in.SecretThreshold,
		PGPKeys: in.PGPKeys, RootTokenPGPKey: in.RootTokenPGPKey,
		StoredShares: in.StoredShares, RecoveryShares: in.RecoveryShares,
	})
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"keys": res.Keys, "keys_base64": res.KeysB64, "root_token": res.RootToken,
	}}, nil
}

type unsealInput struct {
	Key     string `json:"key"`
	Reset   bool   `json:"reset"`
	Migrate bool   `json:"migrate"`
}

func (c sysHandlers) handleUnseal(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in unsealInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	var (
		st  *SealStatus
		err error
	)
	switch {
	case in.Migrate:
		err = logical.InvalidRequest("migrate", "seal migration is not supported")
	case in.Reset:
		st, err = c.UnsealReset(ctx)
	case in.Key == "":
		err = logical.InvalidRequest("", "'key' must be specified in request body as JSON, or 'reset' set to true")
	default:
		var key []byte
		if key, err = decodeUnsealKey(in.Key); err == nil {
			st, err = c.Unseal(ctx, key)
			clear(key)
		}
	}
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: sealStatusData(st)}, nil
}

// decodeUnsealKey accepts a key share in hex or base64, as Vault does.
func decodeUnsealKey(k string) ([]byte, error) {
	if key, err := hex.DecodeString(k); err == nil {
		return key, nil
	}
	if key, err := base64.StdEncoding.DecodeString(k); err == nil {
		return key, nil
	}
	return nil, logical.InvalidRequest("key", "'key' must be a valid hex or base64 string")
}

func (c sysHandlers) handleSealStatus(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	st, err := c.SealStatus(ctx)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: sealStatusData(st)}, nil
}

// sealStatusData renders a SealStatus with Vault's field names; optional
// fields are left out when empty.
func sealStatusData(st *SealStatus) map[string]any {
	d := map[string]any{
		"type": st.Type, "initialized": st.Initialized, "sealed": st.Sealed,
		"t": st.T, "n": st.N, "progress": st.Progress, "nonce": st.Nonce,
		"version": st.Version, "build_date": st.BuildDate, "migration": st.Migration,
		"recovery_seal": st.RecoverySeal,
	}
	optional(d, "cluster_name", st.ClusterName)
	optional(d, "cluster_id", st.ClusterID)
	optional(d, "storage_type", st.StorageType)
	return d
}

func optional(d map[string]any, key, v string) {
	if v != "" {
		d[key] = v
	}
}

// handleSeal seals the node. The pipeline has authenticated and authorized
// the caller (the route needs sudo) and released the state lock, which
// sealing takes for writing.
func (c sysHandlers) handleSeal(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	c.sealLocked()
	return nil, nil
}

func (c sysHandlers) handleHealth(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	h := c.Health(ctx)
	d := map[string]any{
		"initialized": h.Initialized, "sealed": h.Sealed, "standby": h.Standby,
		"performance_standby":          h.PerformanceStandby,
		"replication_performance_mode": h.ReplicationPerformanceMode,
		"replication_dr_mode":          h.ReplicationDRMode,
		"server_time_utc":              h.ServerTimeUTC,
		"version":                      h.Version,
	}
	optional(d, "cluster_name", h.ClusterName)
	optional(d, "cluster_id", h.ClusterID)
	return &logical.Response{Data: d}, nil
}

func (c sysHandlers) handleLeader(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	ls, err := c.Leader(ctx)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"ha_enabled": ls.HAEnabled, "is_self": ls.IsSelf,
		"active_time":            ls.ActiveTime.UTC().Format(time.RFC3339Nano),
		"leader_address":         ls.LeaderAddress,
		"leader_cluster_address": ls.LeaderClusterAddress,
	}}, nil
}
