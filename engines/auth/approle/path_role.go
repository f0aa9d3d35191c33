package approle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// roleNameRe is Vault's GenericNameRegex("role_name").
const roleNameRe = `(?P<role_name>\w(([\w-.]+)?\w)?)`

func (b *Backend) pathRoleList() *framework.Path {
	return &framework.Path{
		Pattern:      `role/?`,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.ListOperation: b.handleRoleList},
		HelpSynopsis: "List the roles.",
	}
}

func (b *Backend) pathRole() *framework.Path {
	return &framework.Path{
		Pattern: `role/` + roleNameRe,
		Fields: tokenfields.With(map[string]*framework.FieldSchema{
			"role_name":             {Type: framework.TypeString, Description: "Name of the role."},
			"bind_secret_id":        {Type: framework.TypeBool, Description: "Require a secret_id at login (default true)."},
			"secret_id_bound_cidrs": {Type: framework.TypeStringSlice, Description: "CIDR blocks logins may come from."},
			"bound_cidr_list":       {Type: framework.TypeStringSlice, Description: `Deprecated: use "secret_id_bound_cidrs".`},
			"secret_id_num_uses":    {Type: framework.TypeInt, Description: "Uses of each secret id; 0 is unlimited."},
			"secret_id_ttl":         {Type: framework.TypeDuration, Description: "Lifetime of each secret id; 0 is unlimited."},
			"period":                {Type: framework.TypeDuration, Description: `Deprecated: use "token_period".`},
			"role_id":               {Type: framework.TypeString, Description: "The role's role_id (default: a UUID)."},
			"local_secret_ids":      {Type: framework.TypeBool, Description: "Cluster-local secret ids (not supported)."},
		}),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.CreateOperation: b.handleRoleWrite,
			logical.UpdateOperation: b.handleRoleWrite,
			logical.ReadOperation:   b.handleRoleRead,
			logical.DeleteOperation: b.handleRoleDelete,
		},
		ExistenceCheck: b.roleExists,
		HelpSynopsis:   "Create, read, update or delete a role.",
	}
}

func (b *Backend) pathRoleID() *framework.Path {
	return &framework.Path{
		Pattern: `role/` + roleNameRe + `/role-id`,
		Fields: map[string]*framework.FieldSchema{
			"role_name": {Type: framework.TypeString},
			"role_id":   {Type: framework.TypeString, Description: "The new role_id."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleRoleIDRead,
			logical.UpdateOperation: b.handleRoleIDWrite,
		},
		HelpSynopsis: "Read or set a role's role_id.",
	}
}

func (b *Backend) roleExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	r, err := b.role(ctx, req.Storage, d.String("role_name"))
	return r != nil, err
}

func (b *Backend) handleRoleList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("approle: list roles: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("approle: no roles: %w", logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (b *Backend) handleRoleWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.String("role_name"))
	if len(name) > maxInputLength {
		return nil, logical.InvalidRequest("role_name", "longer than %d bytes", maxInputLength)
	}
	l := b.roleLock(name)
	l.Lock()
	defer l.Unlock()
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	creating := r == nil
	if creating {
		r = &roleEntry{Name: name, BindSecretID: true}
	}
	previousID := r.RoleID
	if err := applyRoleFields(r, d, creating); err != nil {
		return nil, err
	}
	if err := b.saveRole(ctx, req.Storage, r, previousID); err != nil {
		return nil, err
	}
	return nil, nil
}

// applyRoleFields updates r from the fields present in d and validates it.
func applyRoleFields(r *roleEntry, d *framework.FieldData, creating bool) error {
	if v, ok := d.GetOk("local_secret_ids"); ok && v.(bool) {
		return logical.InvalidRequest("local_secret_ids", "cluster-local secret ids are not supported")
	}
	if err := r.Token.Parse(d); err != nil { // with the legacy "period"
		return err
	}
	if v, ok := d.GetOk("bind_secret_id"); ok {
		r.BindSecretID = v.(bool)
	}
	cidrField := "secret_id_bound_cidrs"
	if !d.Has(cidrField) && d.Has("bound_cidr_list") {
		cidrField = "bound_cidr_list"
	}
	if v, ok := d.GetOk(cidrField); ok {
		cidrs, err := tokenfields.ParseCIDRs(cidrField, v.([]string))
		if err != nil {
			return err
		}
		r.SecretIDBoundCIDRs = cidrs
	}
	if v, ok := d.GetOk("secret_id_num_uses"); ok {
		if r.SecretIDNumUses = v.(int); r.SecretIDNumUses < 0 {
			return logical.InvalidRequest("secret_id_num_uses", "cannot be negative")
		}
	}
	if v, ok := d.GetOk("secret_id_ttl"); ok {
		if r.SecretIDTTL = v.(time.Duration); r.SecretIDTTL < 0 {
			return logical.InvalidRequest("secret_id_ttl", "cannot be negative")
		}
	}
	if err := setRoleID(r, d, creating); err != nil {
		return err
	}
	if !r.BindSecretID && len(r.SecretIDBoundCIDRs) == 0 && len(r.Token.BoundCIDRs) == 0 {
		return logical.InvalidRequest("bind_secret_id", "at least one constraint should be enabled on the role")
	}
	return nil
}

// setRoleID takes role_id from d, or a new UUID on creation.
func setRoleID(r *roleEntry, d *framework.FieldData, creating bool) error {
	if v, ok := d.GetOk("role_id"); ok {
		r.RoleID = strings.TrimSpace(v.(string))
	} else if creating {
		id, err := logical.NewUUID()
		if err != nil {
			return fmt.Errorf("approle: generate role_id: %w", err)
		}
		r.RoleID = id
	}
	if r.RoleID == "" {
		return logical.InvalidRequest("role_id", "must not be empty")
	}
	if len(r.RoleID) > maxInputLength {
		return logical.InvalidRequest("role_id", "longer than %d bytes", maxInputLength)
	}
	return nil
}

func (b *Backend) handleRoleRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	r, err := b.readRole(ctx, req.Storage, d.String("role_name"))
	if err != nil {
		return nil, err
	}
	data := map[string]any{
		"bind_secret_id":        r.BindSecretID,
		"secret_id_bound_cidrs": nonNil(r.SecretIDBoundCIDRs),
		"secret_id_num_uses":    r.SecretIDNumUses,
		"secret_id_ttl":         int64(r.SecretIDTTL / time.Second),
		"local_secret_ids":      false,
	}
	r.Token.ResponseData(data)
	return &logical.Response{Data: data}, nil
}

// readRole reads a role under its read lock; absent is logical.ErrNotFound.
func (b *Backend) readRole(ctx context.Context, s logical.Storage, name string) (*roleEntry, error) {
	name = strings.ToLower(name)
	l := b.roleLock(name)
	l.RLock()
	defer l.RUnlock()
	r, err := b.role(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("approle: role %q: %w", name, logical.ErrNotFound)
	}
	return r, nil
}

func (b *Backend) handleRoleDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.String("role_name"))
	l := b.roleLock(name)
	l.Lock()
	defer l.Unlock()
	r, err := b.role(ctx, req.Storage, name)
	if err != nil || r == nil {
		return nil, err
	}
	mac, err := b.hmacer(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if err := b.deleteRoleSecretIDs(ctx, req.Storage, mac, name); err != nil {
		return nil, err
	}
	return nil, apply(ctx, req.Storage, deleteOp(roleIDKey(mac("role_id", r.RoleID))), deleteOp(roleKey(name)))
}

func (b *Backend) handleRoleIDRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	r, err := b.readRole(ctx, req.Storage, d.String("role_name"))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"role_id": r.RoleID}}, nil
}

func (b *Backend) handleRoleIDWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	if !d.Has("role_id") {
		return nil, logical.InvalidRequest("role_id", "missing role_id")
	}
	name := strings.ToLower(d.String("role_name"))
	l := b.roleLock(name)
	l.Lock()
	defer l.Unlock()
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("approle: role %q: %w", name, logical.ErrNotFound)
	}
	previousID := r.RoleID
	if err := setRoleID(r, d, false); err != nil {
		return nil, err
	}
	return nil, b.saveRole(ctx, req.Storage, r, previousID)
}
