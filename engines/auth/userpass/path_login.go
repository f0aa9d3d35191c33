package userpass

import (
	"context"
	"errors"

	"github.com/secretumvault/secretumvault/engines/auth/internal/method"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathLogin() *framework.Path {
	return &framework.Path{
		Pattern: `login/` + usernameRe,
		Fields: map[string]*framework.FieldSchema{
			"username": {Type: framework.TypeString},
			"password": {Type: framework.TypeString, Description: "The user's password."},
		},
		Operations:      map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleLogin},
		Unauthenticated: true,
		HelpSynopsis:    "Log in with a username and password.",
	}
}

// handleLogin verifies the password and answers the Auth core mints a
// token from. Every failure is ErrInvalidCredentials and counts towards
// the lockout of the username and address; a locked-out key is
// lockout.ErrLockedOut, answered before any hashing.
func (b *Backend) handleLogin(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := normalize(d.String("username"))
	password := d.String("password")
	if password == "" {
		return nil, logical.InvalidRequest("password", "missing password")
	}
	addr := method.RemoteAddr(req)
	u, locked, err := lockout.Attempt(b.lockout, lockout.Key(name, addr), lockout.IsRefusal, func() (*userEntry, error) {
		return b.authenticate(ctx, req.Storage, name, password, addr)
	})
	switch {
	case errors.Is(err, lockout.ErrLockedOut):
		b.log.InfoContext(ctx, "userpass: login refused: locked out", "username", name, "remote_addr", addr)
		return nil, err
	case lockout.IsRefusal(err):
		b.log.InfoContext(ctx, "userpass: login failed", "username", name, "remote_addr", addr, "reason", lockout.ReasonOf(err), "locked_out", locked)
		return nil, ErrInvalidCredentials
	case err != nil:
		return nil, err
	}
	return &logical.Response{Auth: loginAuth(name, u)}, nil
}

// refused is a refused login for reason (the log's): the client gets
// ErrInvalidCredentials.
func refused(reason string) error { return lockout.Refused(reason, ErrInvalidCredentials) }

// authenticate checks password for user name from addr. A refused login
// is a lockout.Refusal whose reason is for the log; other errors are
// failures of the server.
// Whether the user exists or not, exactly one hash of the current cost
// (or the user's stored one) is computed.
func (b *Backend) authenticate(ctx context.Context, s logical.Storage, name, password, addr string) (*userEntry, error) {
	u, err := b.user(ctx, s, name)
	if err != nil {
		return nil, err
	}
	phc := b.dummy
	if u != nil && u.PasswordHash != "" {
		phc = u.PasswordHash
	}
	ok, params, err := b.verifyPassword(ctx, password, phc)
	if err != nil {
		return nil, err
	}
	switch {
	case u == nil:
		return nil, refused("unknown user")
	case !ok:
		return nil, refused("wrong password")
	case !logical.AddrAllowed(addr, u.Token.BoundCIDRs):
		return nil, refused("client address outside the user's token_bound_cidrs")
	}
	if !params.sameCost(b.params) {
		b.rehash(ctx, s, name, password, phc)
	}
	return u, nil
}

// rehash re-hashes a user's password under the current parameters after
// a successful login, unless the hash changed meanwhile. Failure only
// leaves the old hash in place, so it is logged, not returned.
func (b *Backend) rehash(ctx context.Context, s logical.Storage, name, password, oldPHC string) {
	l := b.userLock(name)
	l.Lock()
	defer l.Unlock()
	u, err := b.user(ctx, s, name)
	if err != nil || u == nil || u.PasswordHash != oldPHC {
		return
	}
	if u.PasswordHash, err = b.hashPassword(ctx, password, b.params); err == nil {
		err = b.saveUser(ctx, s, name, u)
	}
	if err != nil {
		b.log.WarnContext(ctx, "userpass: upgrading a password hash failed", "username", name, "error", err)
	}
}

// loginAuth is the Auth of a successful login of user u named name.
// DisplayName is left to core, whose "<mount>-<alias>" is the display
// name Vault gives userpass tokens ("userpass-alice").
func loginAuth(name string, u *userEntry) *logical.Auth {
	auth := &logical.Auth{
		Metadata:   map[string]string{"username": name},
		Alias:      &logical.Alias{Name: name},
		EntityType: EntityType,
	}
	u.Token.Apply(auth)
	return auth
}
