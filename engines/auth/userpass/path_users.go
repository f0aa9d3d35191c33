package userpass

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// usernameRe is Vault's GenericNameRegex("username").
const usernameRe = `(?P<username>\w(([\w-.]+)?\w)?)`

func (b *Backend) pathUsersList() *framework.Path {
	return &framework.Path{
		Pattern:      `users/?`,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.ListOperation: b.handleUserList},
		HelpSynopsis: "List the users.",
	}
}

func (b *Backend) pathUser() *framework.Path {
	return &framework.Path{
		Pattern: `users/` + usernameRe,
		Fields: tokenfields.With(map[string]*framework.FieldSchema{
			"username":      {Type: framework.TypeString, Description: "Username (lower-cased)."},
			"password":      {Type: framework.TypeString, Description: "Password of the user (required on creation)."},
			"password_hash": {Type: framework.TypeString, Description: "Pre-hashed bcrypt password (not supported)."},
			"ttl":           {Type: framework.TypeDuration, Description: `Deprecated: use "token_ttl".`},
			"max_ttl":       {Type: framework.TypeDuration, Description: `Deprecated: use "token_max_ttl".`},
			"bound_cidrs":   {Type: framework.TypeStringSlice, Description: `Deprecated: use "token_bound_cidrs".`},
		}),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.CreateOperation: b.handleUserWrite,
			logical.UpdateOperation: b.handleUserWrite,
			logical.ReadOperation:   b.handleUserRead,
			logical.DeleteOperation: b.handleUserDelete,
		},
		ExistenceCheck: b.userExists,
		HelpSynopsis:   "Create, read, update or delete a user.",
	}
}

func (b *Backend) pathUserPassword() *framework.Path {
	return &framework.Path{
		Pattern: `users/` + usernameRe + `/password`,
		Fields: map[string]*framework.FieldSchema{
			"username":      {Type: framework.TypeString},
			"password":      {Type: framework.TypeString, Description: "The new password."},
			"password_hash": {Type: framework.TypeString, Description: "Pre-hashed bcrypt password (not supported)."},
		},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handlePasswordWrite},
		HelpSynopsis: "Reset a user's password.",
	}
}

func (b *Backend) pathUserPolicies() *framework.Path {
	return &framework.Path{
		Pattern: `users/` + usernameRe + `/policies`,
		Fields: map[string]*framework.FieldSchema{
			"username":       {Type: framework.TypeString},
			"token_policies": {Type: framework.TypeStringSlice, Description: "Policies of the user's tokens."},
			"policies":       {Type: framework.TypeStringSlice, Description: `Deprecated: use "token_policies".`},
		},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handlePoliciesWrite},
		HelpSynopsis: "Set a user's policies.",
	}
}

func (b *Backend) userExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	u, err := b.user(ctx, req.Storage, normalize(d.String("username")))
	return u != nil, err
}

func (b *Backend) handleUserList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, userPrefix)
	if err != nil {
		return nil, fmt.Errorf("userpass: list users: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("userpass: no users: %w", logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (b *Backend) handleUserRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := normalize(d.String("username"))
	u, err := b.user(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("userpass: user %q: %w", name, logical.ErrNotFound)
	}
	data := map[string]any{}
	u.Token.ResponseData(data)
	return &logical.Response{Data: data}, nil
}

func (b *Backend) handleUserDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := normalize(d.String("username"))
	l := b.userLock(name)
	l.Lock()
	defer l.Unlock()
	if err := req.Storage.Delete(ctx, userKey(name)); err != nil {
		return nil, fmt.Errorf("userpass: delete user: %w", err)
	}
	return nil, nil
}

func (b *Backend) handleUserWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	if d.Has("password_hash") {
		return nil, logical.InvalidRequest("password_hash", "pre-hashed passwords are not supported; send password")
	}
	name := normalize(d.String("username"))
	l := b.userLock(name)
	l.Lock()
	defer l.Unlock()
	u, err := b.user(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		if d.String("password") == "" {
			return nil, logical.InvalidRequest("password", "missing password")
		}
		u = &userEntry{}
	}
	if err := u.Token.Parse(d); err != nil { // with the legacy ttl, max_ttl, bound_cidrs
		return nil, err
	}
	if pw := d.String("password"); pw != "" {
		if u.PasswordHash, err = b.hashPassword(ctx, pw, b.params); err != nil {
			return nil, err
		}
	}
	return nil, b.saveUser(ctx, req.Storage, name, u)
}

func (b *Backend) handlePasswordWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	if d.Has("password_hash") {
		return nil, logical.InvalidRequest("password_hash", "pre-hashed passwords are not supported; send password")
	}
	pw := d.String("password")
	if pw == "" {
		return nil, logical.InvalidRequest("password", "missing password")
	}
	return b.updateUser(ctx, req, d, func(u *userEntry) error {
		h, err := b.hashPassword(ctx, pw, b.params)
		u.PasswordHash = h
		return err
	})
}

func (b *Backend) handlePoliciesWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	return b.updateUser(ctx, req, d, func(u *userEntry) error {
		if v, ok := d.GetOk("token_policies"); ok {
			u.Token.Policies = tokenfields.SanitizePolicies(v.([]string))
		} else if v, ok := d.GetOk("policies"); ok {
			u.Token.Policies = tokenfields.SanitizePolicies(v.([]string))
		} else {
			return logical.InvalidRequest("token_policies", "missing token_policies")
		}
		return nil
	})
}

// updateUser applies f to an existing user under its lock and saves it.
func (b *Backend) updateUser(ctx context.Context, req *logical.Request, d *framework.FieldData, f func(*userEntry) error) (*logical.Response, error) {
	name := normalize(d.String("username"))
	l := b.userLock(name)
	l.Lock()
	defer l.Unlock()
	u, err := b.user(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, logical.InvalidRequest("username", "username does not exist")
	}
	if err := f(u); err != nil {
		return nil, err
	}
	return nil, b.saveUser(ctx, req.Storage, name, u)
}
