package database

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// errNameTaken is Vault's answer to a role named like a static role (and
// the reverse).
const errNameTaken = "Role and Static Role names must be unique"

func roleFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"name":                  {Type: framework.TypeString, Description: "Name of the role."},
		"db_name":               {Type: framework.TypeString, Description: "Name of the connection the role uses."},
		"creation_statements":   {Type: framework.TypeStringSlice, Description: "Statements creating the user ({{name}}, {{password}}, {{expiration}})."},
		"revocation_statements": {Type: framework.TypeStringSlice, Description: "Statements dropping the user (default: the plugin's)."},
		"rollback_statements":   {Type: framework.TypeStringSlice, Description: "Statements undoing a failed creation."},
		"renew_statements":      {Type: framework.TypeStringSlice, Description: "Statements extending the user's expiration."},
		"default_ttl":           {Type: framework.TypeDuration, Description: "Default lease TTL (0: the mount's)."},
		"max_ttl":               {Type: framework.TypeDuration, Description: "Maximum lease TTL (0: the mount's)."},
		"credential_type":       {Type: framework.TypeString, Description: `Only "password" is supported.`},
	}
}

// roleInput is a role write; nil means "not sent".
type roleInput struct {
	DBName               *string        `json:"db_name"`
	CreationStatements   *[]string      `json:"creation_statements"`
	RevocationStatements *[]string      `json:"revocation_statements"`
	RollbackStatements   *[]string      `json:"rollback_statements"`
	RenewStatements      *[]string      `json:"renew_statements"`
	DefaultTTL           *time.Duration `json:"default_ttl"`
	MaxTTL               *time.Duration `json:"max_ttl"`
	CredentialType       *string        `json:"credential_type"`
}

func (in *roleInput) apply(r *role) {
	set(&r.DBName, in.DBName)
	set(&r.CreationStatements, in.CreationStatements)
	set(&r.RevocationStatements, in.RevocationStatements)
	set(&r.RollbackStatements, in.RollbackStatements)
	set(&r.RenewStatements, in.RenewStatements)
	set(&r.DefaultTTL, in.DefaultTTL)
	set(&r.MaxTTL, in.MaxTTL)
	r.RevocationStatements = removeEmpty(r.RevocationStatements)
	r.CreationStatements = removeEmpty(r.CreationStatements)
}

func (r *role) validate() error {
	switch {
	case r.DBName == "":
		return logical.InvalidRequest("db_name", "missing required field")
	case len(r.CreationStatements) == 0:
		return logical.InvalidRequest("creation_statements", "missing required field")
	case r.DefaultTTL < 0:
		return logical.InvalidRequest("default_ttl", "must not be negative")
	case r.MaxTTL < 0:
		return logical.InvalidRequest("max_ttl", "must not be negative")
	case r.MaxTTL > 0 && r.DefaultTTL > r.MaxTTL:
		return logical.InvalidRequest("default_ttl", "must not exceed max_ttl")
	}
	return nil
}

// checkCredentialType accepts the one credential type the plugins have.
func checkCredentialType(t *string) error {
	if t != nil && *t != "" && *t != "password" {
		return logical.InvalidRequest("credential_type", "unsupported credential_type %q (only \"password\")", *t)
	}
	return nil
}

func removeEmpty(s []string) []string {
	return slices.DeleteFunc(s, func(v string) bool { return strings.TrimSpace(v) == "" })
}

func (b *Backend) pathRoleList() *framework.Path {
	return &framework.Path{
		Pattern:      `roles/?`,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.ListOperation: b.handleRoleList},
		HelpSynopsis: "List the roles.",
	}
}

func (b *Backend) pathRole() *framework.Path {
	return &framework.Path{
		Pattern: `roles/` + nameRe,
		Fields:  roleFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleRoleRead,
			logical.UpdateOperation: b.handleRoleWrite,
			logical.DeleteOperation: b.handleRoleDelete,
		},
		ExistenceCheck: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
			r, err := loadRole(ctx, req.Storage, d.String("name"))
			return r != nil, err
		},
		HelpSynopsis: "Manage the roles whose credentials creds/ creates.",
	}
}

func (b *Backend) handleRoleList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	return listKeys(ctx, req.Storage, rolePrefix)
}

// mustRole loads a role; a missing one is logical.ErrNotFound.
func mustRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	r, err := loadRole(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("database: unknown role: %s: %w", name, logical.ErrNotFound)
	}
	return r, nil
}

func (b *Backend) handleRoleRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	r, err := mustRole(ctx, req.Storage, d.String("name"))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"db_name":               r.DBName,
		"creation_statements":   nonNil(r.CreationStatements),
		"revocation_statements": nonNil(r.RevocationStatements),
		"rollback_statements":   nonNil(r.RollbackStatements),
		"renew_statements":      nonNil(r.RenewStatements),
		"default_ttl":           seconds(r.DefaultTTL),
		"max_ttl":               seconds(r.MaxTTL),
		"credential_type":       "password",
	}}, nil
}

// seconds renders a duration as Vault does: whole seconds.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// handleRoleWrite creates a role or updates the fields sent.
func (b *Backend) handleRoleWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	var in roleInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if err := checkCredentialType(in.CredentialType); err != nil {
		return nil, err
	}
	l := b.roleLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	if sr, err := loadStaticRole(ctx, req.Storage, name); err != nil || sr != nil {
		if err != nil {
			return nil, err
		}
		return nil, logical.InvalidRequest("name", errNameTaken)
	}
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &role{}
	}
	in.apply(r)
	if err := r.validate(); err != nil {
		return nil, err
	}
	return nil, putJSON(ctx, req.Storage, rolePrefix+name, r)
}

func (b *Backend) handleRoleDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	l := b.roleLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	return nil, deleteKey(ctx, req.Storage, rolePrefix+name)
}
