package approle

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// secretIDFields are the parameters of a secret id generation.
func secretIDFields(custom bool) map[string]*framework.FieldSchema {
	f := map[string]*framework.FieldSchema{
		"role_name":         {Type: framework.TypeString},
		"metadata":          {Type: framework.TypeString, Description: "JSON object of string values (or k=v,k2=v2) attached to the secret id and the token."},
		"cidr_list":         {Type: framework.TypeStringSlice, Description: "CIDR blocks logins with this secret id may come from."},
		"token_bound_cidrs": {Type: framework.TypeStringSlice, Description: "CIDR blocks the tokens of this secret id may be used from."},
		"num_uses":          {Type: framework.TypeInt, Description: "Uses of this secret id (at most the role's secret_id_num_uses)."},
		"ttl":               {Type: framework.TypeDuration, Description: "Lifetime of this secret id (at most the role's secret_id_ttl)."},
	}
	if custom {
		f["secret_id"] = &framework.FieldSchema{Type: framework.TypeString, Required: true, Description: "The secret id to register."}
	}
	return f
}

func (b *Backend) pathSecretID() *framework.Path {
	return &framework.Path{
		Pattern: `role/` + roleNameRe + `/secret-id/?`,
		Fields:  secretIDFields(false),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: b.handleSecretIDGenerate,
			logical.ListOperation:   b.handleSecretIDList,
		},
		HelpSynopsis: "Generate a secret id for a role, or list its accessors.",
	}
}

func (b *Backend) pathCustomSecretID() *framework.Path {
	return &framework.Path{
		Pattern:      `role/` + roleNameRe + `/custom-secret-id`,
		Fields:       secretIDFields(true),
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleSecretIDCustom},
		HelpSynopsis: "Register a secret id of the caller's choosing for a role.",
	}
}

func (b *Backend) handleSecretIDGenerate(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	secret, err := logical.NewUUID()
	if err != nil {
		return nil, fmt.Errorf("approle: generate secret_id: %w", err)
	}
	return b.registerSecretID(ctx, req, d, secret)
}

func (b *Backend) handleSecretIDCustom(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	secret := d.String("secret_id")
	if secret == "" {
		return nil, logical.InvalidRequest("secret_id", "missing secret_id")
	}
	if len(secret) > maxInputLength {
		return nil, logical.InvalidRequest("secret_id", "longer than %d bytes", maxInputLength)
	}
	return b.registerSecretID(ctx, req, d, secret)
}

// registerSecretID stores secret (as its HMAC) for the role and answers
// it once, with its accessor.
func (b *Backend) registerSecretID(ctx context.Context, req *logical.Request, d *framework.FieldData, secret string) (*logical.Response, error) {
	name := strings.ToLower(d.String("role_name"))
	l := b.roleLock(name)
	l.RLock()
	defer l.RUnlock()
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("approle: role %q does not exist: %w", name, logical.ErrNotFound)
	}
	if !r.BindSecretID {
		return nil, logical.InvalidRequest("bind_secret_id", "bind_secret_id is not set on the role")
	}
	e, err := newSecretIDEntry(r, d, b.now())
	if err != nil {
		return nil, err
	}
	mac, err := b.hmacer(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	e.HMAC = mac("secret_id", secret)
	if e.Accessor, err = logical.NewUUID(); err != nil {
		return nil, fmt.Errorf("approle: generate accessor: %w", err)
	}
	if err := b.withSecretLock(e.HMAC, func() error { return b.storeNewSecretID(ctx, req.Storage, mac, name, e) }); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"secret_id":          secret,
		"secret_id_accessor": e.Accessor,
		"secret_id_ttl":      int64(e.TTL / time.Second),
		"secret_id_num_uses": e.NumUses,
	}}, nil
}

// storeNewSecretID writes e and its accessor; an id already registered
// is refused. The caller holds the secret id's lock.
func (b *Backend) storeNewSecretID(ctx context.Context, s logical.Storage, mac func(string, string) string, role string, e *secretIDEntry) error {
	old, err := b.secretID(ctx, s, role, e.HMAC)
	if err != nil {
		return err
	}
	if old != nil {
		return logical.InvalidRequest("secret_id", "SecretID is already registered")
	}
	accOp, err := putOp(accessorKey(mac("accessor", e.Accessor)), &accessorEntry{RoleName: role, SecretIDHMAC: e.HMAC})
	if err != nil {
		return err
	}
	idOp, err := putOp(secretIDKey(role, e.HMAC), e)
	if err != nil {
		return err
	}
	return apply(ctx, s, accOp, idOp)
}

// newSecretIDEntry builds a secret id entry from the request, within the
// role's limits.
func newSecretIDEntry(r *roleEntry, d *framework.FieldData, now time.Time) (*secretIDEntry, error) {
	e := &secretIDEntry{NumUses: r.SecretIDNumUses, TTL: r.SecretIDTTL, CreationTime: now, LastUpdatedTime: now}
	var err error
	if e.CIDRList, err = tokenfields.ParseCIDRs("cidr_list", d.StringSlice("cidr_list")); err != nil {
		return nil, err
	}
	if !tokenfields.Subset(r.SecretIDBoundCIDRs, e.CIDRList) {
		return nil, logical.InvalidRequest("cidr_list", "must be a subset of the role's secret_id_bound_cidrs")
	}
	if e.TokenBoundCIDRs, err = tokenfields.ParseCIDRs("token_bound_cidrs", d.StringSlice("token_bound_cidrs")); err != nil {
		return nil, err
	}
	if !tokenfields.Subset(r.Token.BoundCIDRs, e.TokenBoundCIDRs) {
		return nil, logical.InvalidRequest("token_bound_cidrs", "must be a subset of the role's token_bound_cidrs")
	}
	if v, ok := d.GetOk("num_uses"); ok {
		n := v.(int)
		if n < 0 {
			return nil, logical.InvalidRequest("num_uses", "cannot be negative")
		}
		if r.SecretIDNumUses > 0 && (n == 0 || n > r.SecretIDNumUses) {
			return nil, logical.InvalidRequest("num_uses", "cannot be higher than the role's secret_id_num_uses")
		}
		e.NumUses = n
	}
	if v, ok := d.GetOk("ttl"); ok {
		ttl := v.(time.Duration)
		if ttl < 0 {
			return nil, logical.InvalidRequest("ttl", "cannot be negative")
		}
		if r.SecretIDTTL > 0 && (ttl == 0 || ttl > r.SecretIDTTL) {
			return nil, logical.InvalidRequest("ttl", "cannot be longer than the role's secret_id_ttl")
		}
		e.TTL = ttl
	}
	if e.TTL > 0 {
		e.ExpirationTime = now.Add(e.TTL)
	}
	if e.Metadata, err = parseMetadata(d.String("metadata")); err != nil {
		return nil, err
	}
	return e, nil
}

// parseMetadata reads secret id metadata: a JSON object of strings, or
// comma-separated k=v pairs, as Vault accepts.
func parseMetadata(s string) (map[string]string, error) {
	out := map[string]string{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	if strings.HasPrefix(s, "{") {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, logical.InvalidRequest("metadata", "must be a JSON object of string values")
		}
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return nil, logical.InvalidRequest("metadata", "must be a JSON object or key=value pairs")
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

func (b *Backend) handleSecretIDList(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.String("role_name"))
	l := b.roleLock(name)
	l.RLock()
	defer l.RUnlock()
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("approle: role %q does not exist: %w", name, logical.ErrNotFound)
	}
	hs, err := listSecretIDs(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	accessors := make([]string, 0, len(hs))
	for _, h := range hs {
		e, err := b.secretID(ctx, req.Storage, name, h)
		if err != nil {
			return nil, err
		}
		if e != nil {
			accessors = append(accessors, e.Accessor)
		}
	}
	if len(accessors) == 0 {
		return nil, fmt.Errorf("approle: no secret ids: %w", logical.ErrNotFound)
	}
	slices.Sort(accessors)
	return &logical.Response{Data: map[string]any{"keys": accessors}}, nil
}
