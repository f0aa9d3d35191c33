package ssh

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// roleRe captures a role name (Vault's GenericNameWithAtRegex).
const roleRe = `(?P<role>\w(([\w-.@]+)?\w)?)`

func roleFields() map[string]*framework.FieldSchema {
	str := func(desc string) *framework.FieldSchema {
		return &framework.FieldSchema{Type: framework.TypeString, Description: desc}
	}
	flag := func(desc string) *framework.FieldSchema {
		return &framework.FieldSchema{Type: framework.TypeBool, Default: false, Description: desc}
	}
	return map[string]*framework.FieldSchema{
		"role":                               str("Name of the role."),
		"key_type":                           str(`Type of the role: only "ca" is supported.`),
		"default_user":                       str("Principal of a user certificate whose request sends no valid_principals."),
		"default_user_template":              flag("Identity templating of default_user (not supported)."),
		"allowed_users":                      str(`Comma-separated principals user certificates may carry; "*" allows any. Empty allows none.`),
		"allowed_users_template":             flag("Identity templating of allowed_users (not supported)."),
		"allowed_domains":                    str(`Comma-separated domains host certificates may carry; "*" allows any.`),
		"allowed_domains_template":           flag("Identity templating of allowed_domains (not supported)."),
		"ttl":                                {Type: framework.TypeDuration, Description: "Default certificate lifetime (0: the mount's default)."},
		"max_ttl":                            {Type: framework.TypeDuration, Description: "Maximum certificate lifetime (0: the mount's maximum)."},
		"allowed_critical_options":           str("Comma-separated critical options a request may set (empty: any)."),
		"allowed_extensions":                 str(`Comma-separated extensions a request may set; "*" allows any, empty none.`),
		"default_critical_options":           {Type: framework.TypeStringMap, Description: "Critical options of a certificate whose request sends none."},
		"default_extensions":                 {Type: framework.TypeStringMap, Description: "Extensions of a certificate whose request sends none."},
		"default_extensions_template":        flag("Identity templating of default_extensions (not supported)."),
		"allow_user_certificates":            flag("Whether user certificates may be signed."),
		"allow_host_certificates":            flag("Whether host certificates may be signed."),
		"allow_bare_domains":                 flag("Whether host certificates may name an allowed domain itself."),
		"allow_subdomains":                   flag("Whether host certificates may name subdomains of allowed domains."),
		"allow_user_key_ids":                 flag("Whether a request may set the certificate's key_id."),
		"allow_empty_principals":             flag("Refused when true: certificates are never signed without principals."),
		"allow_commas_in_identity_templates": flag("Ignored (identity templating is not supported)."),
		"key_id_format":                      str("Format of the key id: {{token_display_name}}, {{role_name}}, {{public_key_hash}}."),
		"allowed_user_key_lengths":           {Type: framework.TypeMap, Description: "Key types (rsa, ecdsa, ed25519, ...) allowed, each with its allowed sizes."},
		"algorithm_signer":                   str("Signature algorithm of an RSA CA: rsa-sha2-256, rsa-sha2-512 or default."),
		"not_before_duration":                {Type: framework.TypeDuration, Default: 30, Description: "How far certificates are backdated (default 30s)."},
	}
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
		Pattern: `roles/` + roleRe,
		Fields:  roleFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleRoleRead,
			logical.UpdateOperation: b.handleRoleWrite,
			logical.DeleteOperation: b.handleRoleDelete,
		},
		ExistenceCheck: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
			r, err := loadRole(ctx, req.Storage, d.String("role"))
			return r != nil, err
		},
		HelpSynopsis: "Manage the roles certificates are signed for.",
	}
}

// handleRoleList answers Vault's keys and key_info; none is 404.
func (b *Backend) handleRoleList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("ssh: list %s: %w", rolePrefix, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("ssh: no roles: %w", logical.ErrNotFound)
	}
	info := make(map[string]any, len(keys))
	for _, k := range keys {
		info[k] = map[string]any{"key_type": keyTypeCA}
	}
	return &logical.Response{Data: map[string]any{"keys": keys, "key_info": info}}, nil
}

// mustRole loads a role; a missing one is Vault's 400 "unknown role".
func mustRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	r, err := loadRole(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, logical.InvalidRequest("role", "unknown role: %s", name)
	}
	return r, nil
}

func (b *Backend) handleRoleRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	r, err := loadRole(ctx, req.Storage, d.String("role"))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("ssh: unknown role %s: %w", d.String("role"), logical.ErrNotFound)
	}
	return &logical.Response{Data: r.data()}, nil
}

// handleRoleWrite replaces the role with the one the request describes,
// as Vault does (absent fields take their defaults).
func (b *Backend) handleRoleWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in roleInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	r, err := in.toRole()
	if err != nil {
		return nil, err
	}
	return nil, putJSON(ctx, req.Storage, rolePrefix+d.String("role"), r)
}

func (b *Backend) handleRoleDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	return nil, deleteKey(ctx, req.Storage, rolePrefix+d.String("role"))
}
