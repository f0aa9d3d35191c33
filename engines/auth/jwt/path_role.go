package jwt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// roleNamePattern is Vault's framework.GenericNameRegex.
const roleNamePattern = `(?P<name>\w(([\w-.]+)?\w)?)`

// reservedMetadata are metadata keys claim_mappings may not target.
var reservedMetadata = []string{"role"}

func roleFields() map[string]*framework.FieldSchema {
	f := func(t framework.FieldType, desc string) *framework.FieldSchema {
		return &framework.FieldSchema{Type: t, Description: desc}
	}
	m := map[string]*framework.FieldSchema{
		"name":                    f(framework.TypeString, "Name of the role."),
		"role_type":               f(framework.TypeString, `Type of the role; only "jwt" is supported.`),
		"bound_audiences":         f(framework.TypeStringSlice, "aud values accepted; any match is enough."),
		"bound_subject":           f(framework.TypeString, "sub value required."),
		"bound_claims_type":       f(framework.TypeString, `How bound_claims values match: "string" (exact) or "glob".`),
		"bound_claims":            f(framework.TypeMap, "Claims (names or JSON pointers) and the values one of which each must have."),
		"claim_mappings":          f(framework.TypeStringMap, "Claims (names or JSON pointers) copied to metadata keys."),
		"user_claim":              f(framework.TypeString, `Claim whose value is the alias name (default "sub").`),
		"user_claim_json_pointer": f(framework.TypeBool, "Read user_claim as a JSON pointer."),
		"groups_claim":            f(framework.TypeString, "Claim (name or JSON pointer) listing the external groups."),
		"expiration_leeway":       f(framework.TypeDuration, "Leeway for a missing exp (default 150s when 0; -1 disables)."),
		"not_before_leeway":       f(framework.TypeDuration, "Leeway for a missing nbf (default 150s when 0; -1 disables)."),
		"clock_skew_leeway":       f(framework.TypeDuration, "Leeway on exp, nbf and iat (default 60s when 0; -1 disables)."),
	}
	m = tokenfields.With(m)
	// Not offered: logical.Auth has no explicit max TTL (reads show 0).
	delete(m, "token_explicit_max_ttl")
	// Vault's deprecated names, which Parse reads when the token_ name
	// is absent ("policies" comes with tokenfields.Fields).
	for _, legacy := range []string{"ttl", "max_ttl", "period", "num_uses", "bound_cidrs"} {
		m[legacy] = &framework.FieldSchema{Type: m["token_"+legacy].Type, Description: `Deprecated: use "token_` + legacy + `".`}
	}
	return m
}

// roleInput is the decoded form of roleFields; nil means "not sent".
type roleInput struct {
	Name             string             `json:"name"`
	RoleType         *string            `json:"role_type"`
	BoundAudiences   *[]string          `json:"bound_audiences"`
	BoundSubject     *string            `json:"bound_subject"`
	BoundClaimsType  *string            `json:"bound_claims_type"`
	BoundClaims      *map[string]any    `json:"bound_claims"`
	ClaimMappings    *map[string]string `json:"claim_mappings"`
	UserClaim        *string            `json:"user_claim"`
	UserClaimPointer *bool              `json:"user_claim_json_pointer"`
	GroupsClaim      *string            `json:"groups_claim"`
	ExpirationLeeway *time.Duration     `json:"expiration_leeway"`
	NotBeforeLeeway  *time.Duration     `json:"not_before_leeway"`
	ClockSkewLeeway  *time.Duration     `json:"clock_skew_leeway"`
}

func (b *Backend) pathRoleList() *framework.Path {
	return &framework.Path{
		Pattern: "role/?",
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ListOperation: b.handleRoleList,
		},
		HelpSynopsis: "Lists the roles.",
	}
}

func (b *Backend) pathRole() *framework.Path {
	return &framework.Path{
		Pattern: "role/" + roleNamePattern,
		Fields:  roleFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleRoleRead,
			logical.CreateOperation: b.handleRoleWrite,
			logical.UpdateOperation: b.handleRoleWrite,
			logical.DeleteOperation: b.handleRoleDelete,
		},
		ExistenceCheck: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
			r, err := loadRole(ctx, req.Storage, strings.ToLower(d.String("name")))
			return r != nil, err
		},
		HelpSynopsis: "Which tokens may log in under a role, and what token they get.",
	}
}

func (b *Backend) handleRoleList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("jwt: list roles: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwt: list roles: %w", logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (b *Backend) handleRoleRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.String("name"))
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("jwt: role %q: %w", name, logical.ErrNotFound)
	}
	return &logical.Response{Data: r.data()}, nil
}

// data renders the role as Vault's role read does.
func (r *role) data() map[string]any {
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	m := map[string]any{
		"role_type":               r.RoleType,
		"bound_audiences":         orEmpty(r.BoundAudiences),
		"bound_subject":           r.BoundSubject,
		"bound_claims_type":       r.BoundClaimsType,
		"bound_claims":            r.BoundClaims,
		"claim_mappings":          r.ClaimMappings,
		"user_claim":              r.UserClaim,
		"user_claim_json_pointer": r.UserClaimPointer,
		"groups_claim":            r.GroupsClaim,
		"expiration_leeway":       int64(r.ExpirationLeeway / time.Second),
		"not_before_leeway":       int64(r.NotBeforeLeeway / time.Second),
		"clock_skew_leeway":       int64(r.ClockSkewLeeway / time.Second),
	}
	r.ResponseData(m)
	return m
}

func (b *Backend) handleRoleDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.String("name"))
	if err := req.Storage.Delete(ctx, roleKey(name)); err != nil {
		return nil, fmt.Errorf("jwt: delete role %q: %w", name, err)
	}
	return nil, nil
}

// newRole is a role with Vault's defaults.
func newRole() *role {
	return &role{
		RoleType:         roleTypeJWT,
		BoundClaimsType:  boundClaimsString,
		UserClaim:        "sub",
		ExpirationLeeway: defaultExpNbfLeeway,
		NotBeforeLeeway:  defaultExpNbfLeeway,
		ClockSkewLeeway:  defaultClockSkewLeeway,
	}
}

// handleRoleWrite creates a role or updates the fields the request
// carries (Vault's create/update).
func (b *Backend) handleRoleWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in roleInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	name := strings.ToLower(in.Name)
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = newRole()
	}
	if err := in.apply(r); err != nil {
		return nil, err
	}
	if err := r.Params.Parse(d); err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return nil, storeJSON(ctx, req.Storage, roleKey(name), r)
}

// apply merges the request into r.
func (in *roleInput) apply(r *role) error {
	if in.RoleType != nil {
		switch *in.RoleType {
		case "", roleTypeJWT:
			r.RoleType = roleTypeJWT
		case roleTypeOIDC:
			return logical.InvalidRequest("role_type", "role_type \"oidc\" (the browser OIDC flow) is not supported; use role_type \"jwt\"")
		default:
			return logical.InvalidRequest("role_type", "invalid 'role_type': %s", truncate(*in.RoleType, 32))
		}
	}
	setIf(&r.BoundAudiences, in.BoundAudiences)
	setIf(&r.BoundSubject, in.BoundSubject)
	setIf(&r.UserClaim, in.UserClaim)
	setIf(&r.UserClaimPointer, in.UserClaimPointer)
	setIf(&r.GroupsClaim, in.GroupsClaim)
	setIf(&r.ExpirationLeeway, in.ExpirationLeeway)
	setIf(&r.NotBeforeLeeway, in.NotBeforeLeeway)
	setIf(&r.ClockSkewLeeway, in.ClockSkewLeeway)
	if in.BoundClaimsType != nil {
		switch *in.BoundClaimsType {
		case boundClaimsString, boundClaimsGlob:
			r.BoundClaimsType = *in.BoundClaimsType
		default:
			return logical.InvalidRequest("bound_claims_type", "invalid 'bound_claims_type': %s", truncate(*in.BoundClaimsType, 32))
		}
	}
	if in.BoundClaims != nil {
		bc, err := canonicalJSON(*in.BoundClaims)
		if err != nil {
			return logical.InvalidRequest("bound_claims", "must be a JSON object")
		}
		r.BoundClaims = bc
	}
	if in.ClaimMappings != nil {
		if err := checkMappings(*in.ClaimMappings); err != nil {
			return err
		}
		r.ClaimMappings = *in.ClaimMappings
	}
	return nil
}

// canonicalJSON re-decodes m as stored roles are decoded (numbers as
// json.Number), so that values compare alike before and after storage.
func canonicalJSON(m map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, bool, json.Number:
		return true
	}
	return false
}

// truncate bounds user input quoted in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func checkMappings(m map[string]string) error {
	targets := make(map[string]bool, len(m))
	for _, source := range slices.Sorted(maps.Keys(m)) {
		target := m[source]
		if slices.Contains(reservedMetadata, target) {
			return logical.InvalidRequest("claim_mappings", "metadata key %q is reserved and may not be a mapping destination", target)
		}
		if targets[target] {
			return logical.InvalidRequest("claim_mappings", "multiple keys are mapped to metadata key %q", truncate(target, 64))
		}
		targets[target] = true
	}
	return nil
}

// validate checks the merged role with Vault's rules.
func (r *role) validate() error {
	if r.UserClaim == "" {
		return logical.InvalidRequest("user_claim", "a user claim must be defined on the role")
	}
	for name, v := range r.BoundClaims {
		vals, ok := normalizeList(v)
		if !ok {
			return logical.InvalidRequest("bound_claims", "claim %q: value is not a string, bool, number or list", truncate(name, 64))
		}
		for _, x := range vals {
			if _, isStr := x.(string); r.BoundClaimsType == boundClaimsGlob && !isStr {
				return logical.InvalidRequest("bound_claims", "claim %q: glob values must be strings", truncate(name, 64))
			}
			if !isScalar(x) {
				return logical.InvalidRequest("bound_claims", "claim %q: list values must be strings, bools or numbers", truncate(name, 64))
			}
		}
	}
	if len(r.BoundAudiences) == 0 && len(r.BoundCIDRs) == 0 && r.BoundSubject == "" && len(r.BoundClaims) == 0 {
		return logical.InvalidRequest("", "must have at least one bound constraint when creating/updating a role")
	}
	return nil
}
