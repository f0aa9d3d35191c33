package database

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/ryanuber/go-glob"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// defaultDisplayName stands for the token's display name in generated
// usernames (Vault's "v-<display name>-<role>-..."), which requests do
// not carry yet.
const defaultDisplayName = "token"

var credsPath = regexp.MustCompile(`^creds/` + nameRe + `$`)

// credsRoleName returns the role of a creds/:name read.
func credsRoleName(req *logical.Request) (string, bool) {
	if req.Operation != logical.ReadOperation {
		return "", false
	}
	m := credsPath.FindStringSubmatch(req.Path)
	if m == nil {
		return "", false
	}
	return m[credsPath.SubexpIndex("name")], true
}

func (b *Backend) pathCreds() *framework.Path {
	return &framework.Path{
		Pattern:      `creds/` + nameRe,
		Fields:       map[string]*framework.FieldSchema{"name": {Type: framework.TypeString}},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.ReadOperation: b.handleCreds},
		Actions:      map[logical.Operation]string{logical.ReadOperation: "generate"},
		HelpSynopsis: "Create a database user for a role, under a lease.",
	}
}

// allowedRole reports whether cfg's allowed_roles admit role ("*" or a
// glob); an empty list admits none.
func allowedRole(cfg *connConfig, role string) bool {
	for _, p := range cfg.AllowedRoles {
		if p == "*" || glob.Glob(p, role) {
			return true
		}
	}
	return false
}

// checkAllowed is the 400 of a role its connection does not admit.
func checkAllowed(cfg *connConfig, dbName, role string) error {
	if allowedRole(cfg, role) {
		return nil
	}
	return logical.InvalidRequest("name", "%q is not an allowed role of connection %q", role, dbName)
}

// handleCreds creates a user of the role and answers its credentials
// under a "creds" lease.
func (b *Backend) handleCreds(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	r, err := mustRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	cfg, err := mustConfig(ctx, req.Storage, r.DBName)
	if err != nil {
		return nil, err
	}
	if err := checkAllowed(cfg, r.DBName, name); err != nil {
		return nil, err
	}
	ttl, _ := b.leaseTTLs(r)
	pw, err := b.generatePassword(ctx, cfg.PasswordPolicy)
	if err != nil {
		return nil, err
	}
	var username string
	err = b.conns.with(ctx, req.Storage, r.DBName, func(db dbplugin.Database) error {
		resp, err := db.NewUser(ctx, dbplugin.NewUserRequest{
			UsernameConfig:     dbplugin.UsernameMetadata{DisplayName: defaultDisplayName, RoleName: name},
			Statements:         dbplugin.Statements{Commands: r.CreationStatements},
			RollbackStatements: dbplugin.Statements{Commands: r.RollbackStatements},
			Password:           pw,
			Expiration:         b.now().Add(ttl),
		})
		username = resp.Username
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("database: create a user of role %q: %w", name, scrub(err, pw))
	}
	b.log.InfoContext(ctx, "database: credentials created", "role", name, "db_name", r.DBName, "username", username)
	return &logical.Response{
		Data: map[string]any{"username": username, "password": pw},
		Secret: &logical.Secret{
			Type: SecretCredsType, TTL: ttl, MaxTTL: r.MaxTTL, Renewable: true,
			InternalData: map[string]any{
				"username": username, "role": name, "db_name": r.DBName,
				"revocation_statements": nonNil(r.RevocationStatements),
			},
		},
	}, nil
}

func (b *Backend) secretCreds() *framework.Secret {
	return &framework.Secret{Type: SecretCredsType, Renew: b.handleRenew, Revoke: b.handleRevoke}
}

// leaseUser is what a creds lease's internal data names.
type leaseUser struct {
	username, role, dbName string
	revocation             []string
}

func leaseUserOf(sec *logical.Secret) (leaseUser, error) {
	id := sec.InternalData
	u := leaseUser{
		username: str(id["username"]), role: str(id["role"]), dbName: str(id["db_name"]),
		revocation: strs(id["revocation_statements"]),
	}
	if u.username == "" {
		return u, logical.InvalidRequest("", `secret is missing "username" in its internal data`)
	}
	if u.role == "" {
		return u, logical.InvalidRequest("", `secret is missing "role" in its internal data`)
	}
	return u, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// strs reads a []string that may have been through JSON ([]any).
func strs(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// handleRenew extends a user's expiration by the requested increment
// (req.Data["increment"]; absent or 0: the role's default TTL), capped
// so that the lease ends by its issue time plus the role's max TTL
// (else the mount's), and answers the lease with the TTL granted.
func (b *Backend) handleRenew(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	u, err := leaseUserOf(req.Secret)
	if err != nil {
		return nil, err
	}
	r, err := loadRole(ctx, req.Storage, u.role)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("database: renew: could not find role with name %q: %w", u.role, logical.ErrNotFound)
	}
	ttl, err := b.renewTTL(req, r)
	if err != nil {
		return nil, err
	}
	now := b.now()
	err = b.conns.with(ctx, req.Storage, r.DBName, func(db dbplugin.Database) error {
		return db.UpdateUser(ctx, dbplugin.UpdateUserRequest{
			Username:   u.username,
			Expiration: &dbplugin.ChangeExpiration{NewExpiration: now.Add(ttl), Statements: dbplugin.Statements{Commands: r.RenewStatements}},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("database: renew user %q: %w", u.username, err)
	}
	out := *req.Secret
	out.TTL, out.MaxTTL, out.Renewable = ttl, r.MaxTTL, true
	return &logical.Response{Secret: &out}, nil
}

// renewTTL is the TTL a renewal grants.
func (b *Backend) renewTTL(req *logical.Request, r *role) (time.Duration, error) {
	def, max := b.leaseTTLs(r)
	inc, err := framework.ParseDuration(req.Data["increment"])
	if err != nil {
		return 0, logical.InvalidRequest("increment", "%s", err.Error())
	}
	if inc <= 0 {
		inc = def
	}
	if req.Secret.IssueTime.IsZero() {
		return min(inc, max), nil
	}
	left := req.Secret.IssueTime.Add(max).Sub(b.now()).Truncate(time.Second)
	if left <= 0 {
		return 0, logical.InvalidRequest("", "past the max TTL, cannot renew")
	}
	return min(inc, left), nil
}

// handleRevoke drops a lease's user with the role's revocation
// statements (or, the role deleted, those the lease recorded). A user
// already gone is success.
func (b *Backend) handleRevoke(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	u, err := leaseUserOf(req.Secret)
	if err != nil {
		return nil, err
	}
	r, err := loadRole(ctx, req.Storage, u.role)
	if err != nil {
		return nil, err
	}
	if r != nil {
		u.dbName, u.revocation = r.DBName, r.RevocationStatements
	}
	if u.dbName == "" {
		return nil, fmt.Errorf("database: revoke: could not find role with name %q or embedded revocation db name data: %w", u.role, logical.ErrNotFound)
	}
	err = b.conns.with(ctx, req.Storage, u.dbName, func(db dbplugin.Database) error {
		return db.DeleteUser(ctx, dbplugin.DeleteUserRequest{Username: u.username, Statements: dbplugin.Statements{Commands: u.revocation}})
	})
	if err != nil {
		return nil, fmt.Errorf("database: revoke user %q: %w", u.username, err)
	}
	b.log.InfoContext(ctx, "database: credentials revoked", "role", u.role, "db_name", u.dbName, "username", u.username)
	return nil, nil
}
