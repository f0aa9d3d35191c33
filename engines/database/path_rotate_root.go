package database

import (
	"context"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathRotateRoot() *framework.Path {
	return &framework.Path{
		Pattern:      `rotate-root/` + nameRe,
		Fields:       map[string]*framework.FieldSchema{"name": {Type: framework.TypeString}},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleRotateRoot},
		Actions:      map[logical.Operation]string{logical.UpdateOperation: "rotate"},
		HelpSynopsis: "Rotate the password of the connection's own user.",
	}
}

// handleRotateRoot gives the connection's user a new password from the
// config's password policy and stores only the new one, so that no one
// (not even an operator reading storage) knows a working password.
//
// The new password is stored as pending before the server is changed;
// once the server accepts it, it replaces the stored password. A
// rotation interrupted between the two is finished when the connection
// is next opened (see openConfigured). A failed rotation closes the
// connection, which is reopened with whichever password works.
func (b *Backend) handleRotateRoot(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	_, err := b.rotateRoot(ctx, req.Storage, d.String("name"), "manual")
	return nil, err
}

// rotateRoot is rotate-root's work, reported to the observer with
// reason; it returns when the new password took effect.
func (b *Backend) rotateRoot(ctx context.Context, s logical.Storage, name, reason string) (time.Time, error) {
	l := b.conns.nameLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	cfg, err := mustConfig(ctx, s, name)
	if err != nil {
		return time.Time{}, err
	}
	if cfg.Username == "" {
		return time.Time{}, logical.InvalidRequest("username", "unable to rotate root credentials: no username in configuration")
	}
	if cfg.Password == "" {
		return time.Time{}, logical.InvalidRequest("password", "unable to rotate root credentials: no password in configuration")
	}
	if urlHasPassword(cfg.ConnectionURL) {
		return time.Time{}, logical.InvalidRequest("connection_url", "unable to rotate root credentials: the connection_url embeds a password; use {{password}}")
	}
	pw, err := b.generatePassword(ctx, cfg.PasswordPolicy)
	if err != nil {
		return time.Time{}, err
	}
	// The connection is opened (which settles any earlier interrupted
	// rotation) before the new password is stored as pending.
	err = b.conns.exclusive(ctx, s, name, func(db dbplugin.Database) error {
		cur, err := mustConfig(ctx, s, name)
		if err != nil {
			return err
		}
		cfg = cur
		cfg.PendingPassword = pw
		if err := putJSON(ctx, s, configPrefix+name, cfg); err != nil {
			return err
		}
		return db.UpdateUser(ctx, dbplugin.UpdateUserRequest{
			Username: cfg.Username,
			Password: &dbplugin.ChangePassword{NewPassword: pw, Statements: dbplugin.Statements{Commands: cfg.RootRotationStatements}},
		})
	})
	ev := RotationEvent{Kind: "root", Name: name, DBName: name, Username: cfg.Username, Reason: reason}
	if err != nil {
		b.conns.close(ctx, name)
		ev.Err = scrub(err, pw, cfg.Password)
		b.log.WarnContext(ctx, "database: root rotation failed", "name", name, "username", cfg.Username, "error", ev.Err)
		b.rotated(ctx, ev)
		return time.Time{}, fmt.Errorf("database: rotate root credentials of %q: %w", name, ev.Err)
	}
	now := b.now()
	cfg.Password, cfg.PendingPassword, cfg.PasswordSetAt = pw, "", now
	// A failed write leaves the new password pending: the next open
	// settles it.
	ev.Err = putJSON(ctx, s, configPrefix+name, cfg)
	b.rotated(ctx, ev)
	if ev.Err != nil {
		return time.Time{}, ev.Err
	}
	b.log.InfoContext(ctx, "database: root credentials rotated", "name", name, "username", cfg.Username, "reason", reason)
	return now, nil
}
