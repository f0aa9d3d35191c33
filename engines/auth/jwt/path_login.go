package jwt

import (
	"context"
	"errors"
	"maps"
	"strings"

	"github.com/secretumvault/secretumvault/engines/auth/internal/method"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// entityType is the Cedar type of entities first made by a JWT login:
// workloads (CI jobs, services) rather than people.
const entityType = "Service"

func (b *Backend) pathLogin() *framework.Path {
	return &framework.Path{
		Pattern: "login",
		Fields: map[string]*framework.FieldSchema{
			"role": {Type: framework.TypeString, Description: "Role to log in against (default_role when empty)."},
			"jwt":  {Type: framework.TypeString, Description: "The signed JWT."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: b.handleLogin,
		},
		Unauthenticated: true,
		HelpSynopsis:    "Authenticates with a signed JWT.",
	}
}

type loginInput struct {
	Role string `json:"role"`
	JWT  string `json:"jwt"`
}

// handleLogin verifies the token against the role and answers the
// identity and token request core turns into a token.
func (b *Backend) handleLogin(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in loginInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	cfg, raw, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, logical.InvalidRequest("", "could not load configuration")
	}
	name := strings.ToLower(in.Role)
	if name == "" {
		name = cfg.DefaultRole
	}
	if name == "" {
		return nil, logical.InvalidRequest("role", "missing role")
	}
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, logical.InvalidRequest("role", "role %q could not be found", truncate(name, 64))
	}
	if r.RoleType != roleTypeJWT {
		return nil, logical.InvalidRequest("role", "role with oidc role_type is not allowed")
	}
	if in.JWT == "" {
		return nil, logical.InvalidRequest("jwt", "missing token")
	}
	v, err := b.verifierFor(cfg, raw)
	if err != nil {
		return nil, err
	}
	remote := method.RemoteAddr(req)
	auth, _, err := lockout.Attempt(b.lock, lockout.Key(name, remote), isDenied, func() (*logical.Auth, error) {
		return b.authenticate(ctx, v, r, name, in.JWT, remote)
	})
	if err != nil {
		return nil, err
	}
	return &logical.Response{Auth: auth}, nil
}

// isDenied tells a refused login (counted by the lockout) from a key
// source that cannot be reached or a failure of the server.
func isDenied(err error) bool { return errors.Is(err, logical.ErrPermissionDenied) }

// authenticate checks the login's address, the token and the role's
// bindings, and builds the Auth. Every refusal wraps
// logical.ErrPermissionDenied; a key source that cannot be reached is
// logical.ErrUnavailable.
func (b *Backend) authenticate(ctx context.Context, v *verifier, r *role, roleName, token, remote string) (*logical.Auth, error) {
	if !logical.AddrAllowed(remote, r.BoundCIDRs) {
		return nil, denied("login address is not in the role's token_bound_cidrs")
	}
	claims, err := v.verify(ctx, token, r, b.now())
	if err != nil {
		return nil, err
	}
	alias, err := userName(claims, r)
	if err != nil {
		return nil, denied("%s", err.Error())
	}
	metadata, err := extractMetadata(claims, r.ClaimMappings)
	if err != nil {
		return nil, denied("%s", err.Error())
	}
	metadata["role"] = roleName
	groups, err := groupNames(claims, r)
	if err != nil {
		return nil, denied("failed to fetch groups: %s", err.Error())
	}
	if err := validateBoundClaims(r.BoundClaimsType, r.BoundClaims, claims); err != nil {
		return nil, denied("error validating claims: %s", err.Error())
	}
	auth := &logical.Auth{
		Alias:      &logical.Alias{Name: alias, EntityName: alias, Metadata: metadata},
		Metadata:   maps.Clone(metadata),
		EntityType: entityType,
		GroupNames: groups,
	}
	r.Apply(auth)
	auth.Renewable = false // jwt has never asked; core mints login tokens renewable regardless
	return auth, nil
}
