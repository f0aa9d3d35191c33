package approle

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/secretumvault/secretumvault/engines/auth/internal/method"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// EntityType is the Cedar type of the entities approle logins create.
const EntityType = "Service"

func (b *Backend) pathLogin() *framework.Path {
	return &framework.Path{
		Pattern: `login`,
		Fields: map[string]*framework.FieldSchema{
			"role_id":   {Type: framework.TypeString, Description: "The role's role_id."},
			"secret_id": {Type: framework.TypeString, Description: "A secret id of the role (when it has bind_secret_id)."},
		},
		Operations:      map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleLogin},
		Unauthenticated: true,
		HelpSynopsis:    "Log in with a role_id and a secret_id.",
	}
}

// handleLogin authenticates role_id (and secret_id) from the client's
// address and answers the Auth core mints a token from. Every failure
// is ErrInvalidCredentials and counts towards the lockout of the role
// and address; a locked-out key is lockout.ErrLockedOut.
func (b *Backend) handleLogin(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	roleID := strings.TrimSpace(d.String("role_id"))
	if roleID == "" {
		return nil, logical.InvalidRequest("role_id", "missing role_id")
	}
	addr := method.RemoteAddr(req)
	mac, err := b.hmacer(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	name, err := b.roleNameByID(ctx, req.Storage, mac, roleID)
	if err != nil {
		return nil, err
	}
	lockName := name
	if lockName == "" {
		lockName = "role_id:" + mac("role_id", roleID)
	}
	auth, locked, err := lockout.Attempt(b.lockout, lockout.Key(lockName, addr), lockout.IsRefusal, func() (*logical.Auth, error) {
		return b.authenticate(ctx, req.Storage, d, mac, roleID, name, addr)
	})
	switch {
	case errors.Is(err, lockout.ErrLockedOut):
		b.log.InfoContext(ctx, "approle: login refused: locked out", "role_name", name, "remote_addr", addr)
		return nil, err
	case lockout.IsRefusal(err):
		b.log.InfoContext(ctx, "approle: login failed", "role_name", name, "remote_addr", addr, "reason", lockout.ReasonOf(err), "locked_out", locked)
		return nil, ErrInvalidCredentials
	case err != nil:
		return nil, err
	}
	return &logical.Response{Auth: auth}, nil
}

// refused is a refused login for reason (the log's): the client gets
// ErrInvalidCredentials.
func refused(reason string) error { return lockout.Refused(reason, ErrInvalidCredentials) }

// authenticate checks the credentials against role name (already
// resolved from roleID, "" when unknown). A refused login is a
// lockout.Refusal whose reason is for the log (never a credential);
// other errors are failures of the server and malformed requests.
func (b *Backend) authenticate(ctx context.Context, s logical.Storage, d *framework.FieldData, mac func(string, string) string, roleID, name, addr string) (*logical.Auth, error) {
	if name == "" {
		return nil, refused("unknown role_id")
	}
	l := b.roleLock(name)
	l.RLock()
	defer l.RUnlock()
	r, err := b.role(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if r == nil || !sameHMAC(mac("role_id", r.RoleID), mac("role_id", roleID)) {
		return nil, refused("unknown role_id")
	}
	if !logical.AddrAllowed(addr, r.SecretIDBoundCIDRs) {
		return nil, refused("client address outside the role's secret_id_bound_cidrs")
	}
	var e *secretIDEntry
	if r.BindSecretID {
		secret := strings.TrimSpace(d.String("secret_id"))
		if secret == "" {
			return nil, logical.InvalidRequest("secret_id", "missing secret_id")
		}
		var reason string
		if e, reason, err = b.consumeSecretID(ctx, s, mac, name, secret, addr); err != nil {
			return nil, err
		}
		if reason != "" {
			return nil, refused(reason)
		}
	}
	return loginAuth(r, e), nil
}

// consumeSecretID validates secret for role from addr and spends one of
// its uses, all under the secret id's lock, so that concurrent logins
// never spend more uses than it has.
func (b *Backend) consumeSecretID(ctx context.Context, s logical.Storage, mac func(string, string) string, role, secret, addr string) (*secretIDEntry, string, error) {
	h := mac("secret_id", secret)
	l := b.secretLock(h)
	l.Lock()
	defer l.Unlock()
	e, err := b.secretID(ctx, s, role, h)
	if err != nil {
		return nil, "", err
	}
	if e == nil || !sameHMAC(e.HMAC, h) {
		return nil, "unknown secret_id", nil
	}
	now := b.now()
	if e.expired(now) {
		if err := b.deleteSecretID(ctx, s, mac, role, e); err != nil {
			return nil, "", err
		}
		return nil, "expired secret_id", nil
	}
	if !logical.AddrAllowed(addr, e.CIDRList) {
		return nil, "client address outside the secret id's cidr_list", nil
	}
	switch {
	case e.NumUses == 1:
		err = b.deleteSecretID(ctx, s, mac, role, e)
	case e.NumUses > 1:
		e.NumUses--
		e.LastUpdatedTime = now
		err = b.saveSecretID(ctx, s, role, e)
	}
	if err != nil {
		return nil, "", err
	}
	return e, "", nil
}

// loginAuth is the Auth of a successful login with role r and secret
// id e (nil when the role binds none).
func loginAuth(r *roleEntry, e *secretIDEntry) *logical.Auth {
	md := map[string]string{}
	if e != nil {
		maps.Copy(md, e.Metadata)
	}
	md["role_name"] = r.Name
	auth := &logical.Auth{
		Metadata: md,
		Alias: &logical.Alias{
			Name:       r.RoleID,
			EntityName: r.Name,
			Metadata:   map[string]string{"role_name": r.Name},
		},
		EntityType: EntityType,
	}
	r.Token.Apply(auth)
	if e != nil && len(e.TokenBoundCIDRs) > 0 {
		auth.BoundCIDRs = slices.Clone(e.TokenBoundCIDRs)
	}
	return auth
}
