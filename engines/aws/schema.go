package aws

import (
	"context"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Storage layout of a mount (keys relative to the mount's view, which
// core encrypts behind the barrier). This is the only place key names
// are spelled; they are Vault's.
//
//	config/root   rootConfig (JSON): the root access key and endpoints
//	config/lease  leaseConfig (JSON): TTLs of iam_user leases
//	role/<name>   role (JSON): a role
//	wal/user/<n>  walUser (JSON): an IAM user being created, whose
//	              leftovers Periodic deletes if the creation never ends
const (
	rootConfigKey  = "config/root"
	leaseConfigKey = "config/lease"
	rolePrefix     = "role/"
	walPrefix      = "wal/user/"
)

// walUser is a pending IAM user creation (wal/user/<name>).
type walUser struct {
	UserName string    `json:"username"`
	Created  time.Time `json:"created"`
}

// rootConfig is the stored config/root.
type rootConfig struct {
	AccessKey   string `json:"access_key"`
	SecretKey   string `json:"secret_key"`
	IAMEndpoint string `json:"iam_endpoint"`
	STSEndpoint string `json:"sts_endpoint"`
	Region      string `json:"region"`
	MaxRetries  int    `json:"max_retries"`
	// LastRotated is when the current key was written or rotated.
	LastRotated time.Time `json:"last_rotated,omitzero"`
}

// leaseConfig is the stored config/lease (Vault's field names).
type leaseConfig struct {
	Lease    time.Duration `json:"Lease"`
	LeaseMax time.Duration `json:"LeaseMax"`
}

// The credential types of a role.
const (
	iamUserCred         = "iam_user"
	assumedRoleCred     = "assumed_role"
	federationTokenCred = "federation_token"
)

// role is a stored role (role/<name>), in Vault's format.
type role struct {
	CredentialTypes        []string          `json:"credential_types"`
	PolicyArns             []string          `json:"policy_arns"`
	RoleArns               []string          `json:"role_arns"`
	PolicyDocument         string            `json:"policy_document"`
	IAMGroups              []string          `json:"iam_groups"`
	IAMTags                map[string]string `json:"iam_tags"`
	SessionTags            map[string]string `json:"session_tags"`
	ExternalID             string            `json:"external_id"`
	Version                int               `json:"version"`
	DefaultSTSTTL          time.Duration     `json:"default_sts_ttl"`
	MaxSTSTTL              time.Duration     `json:"max_sts_ttl"`
	UserPath               string            `json:"user_path"`
	PermissionsBoundaryARN string            `json:"permissions_boundary_arn"`
}

func loadRoot(ctx context.Context, s logical.Storage) (*rootConfig, error) {
	return framework.Load[rootConfig](ctx, store, s, rootConfigKey)
}

func loadLease(ctx context.Context, s logical.Storage) (*leaseConfig, error) {
	return framework.Load[leaseConfig](ctx, store, s, leaseConfigKey)
}

func loadRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	return framework.Load[role](ctx, store, s, rolePrefix+name)
}

// stripes are name-hashed mutexes (framework.Stripes).
type stripes = framework.Stripes

// store is the engine's JSON storage (errors name "aws" and wrap
// ErrCorrupt for an entry that does not decode).
var store = framework.JSONStore{Engine: "aws", Corrupt: ErrCorrupt}

// getJSON decodes the entry at key into out; found=false when absent or
// on error.
func getJSON(ctx context.Context, s logical.Storage, key string, out any) (bool, error) {
	return store.Get(ctx, s, key, out)
}

// putJSON stores v at key.
func putJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	return store.Put(ctx, s, key, v)
}
