package database

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// This file makes the Backend a logical.Rotator, for rotation policies.
//
// Targets (paths relative to the mount):
//
//	static-roles/<name>  a static role's password: aged from its
//	                     last_vault_rotation, guarded at
//	                     static-creds/<name>; Rotate is rotate-role
//	config/<name>        a connection's own (root) password: aged from
//	                     when it was last set (rotate-root, or the config
//	                     write that set it); no guard; Rotate is
//	                     rotate-root
//
// Both are verifiable: Verify logs in to the server with the stored
// password (dbplugin.Database.VerifyCredentials); a refused login is
// logical.ErrDrift.

// Target path prefixes of the Rotator (the API's, not storage's).
const (
	targetStaticRole = "static-roles/"
	targetConfig     = "config/"
	guardStaticCreds = "static-creds/"
	// reasonPolicy is the RotationEvent reason of Rotate.
	reasonPolicy = "policy"
)

// nameOnly is nameRe anchored: what a target's name must be.
var nameOnly = regexp.MustCompile(`^` + nameRe + `$`)

var _ logical.Rotator = (*Backend)(nil)

// RotationTargets implements logical.Rotator: every static role, then
// every connection, in lexical order.
func (b *Backend) RotationTargets(ctx context.Context, s logical.Storage) ([]logical.RotationTarget, error) {
	roles, err := s.List(ctx, staticRolePrefix)
	if err != nil {
		return nil, fmt.Errorf("database: list static roles: %w", err)
	}
	configs, err := s.List(ctx, configPrefix)
	if err != nil {
		return nil, fmt.Errorf("database: list connections: %w", err)
	}
	out := make([]logical.RotationTarget, 0, len(roles)+len(configs))
	for _, name := range roles {
		r, err := loadStaticRole(ctx, s, name)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, logical.RotationTarget{
				Path: targetStaticRole + name, LastRotated: r.LastVaultRotation,
				Guards: []string{guardStaticCreds + name}, Verifiable: true,
			})
		}
	}
	for _, name := range configs {
		cfg, err := loadConfig(ctx, s, name)
		if err != nil {
			return nil, err
		}
		if cfg != nil {
			out = append(out, logical.RotationTarget{Path: targetConfig + name, LastRotated: cfg.PasswordSetAt, Verifiable: true})
		}
	}
	return out, nil
}

// Rotate implements logical.Rotator: a static role is rotated as by
// rotate-role, a connection's password as by rotate-root (both reported
// to the rotation observer with reason "policy", which core audits).
// RotationResult.Version is empty: a password has no version.
func (b *Backend) Rotate(ctx context.Context, s logical.Storage, path string) (logical.RotationResult, error) {
	kind, name, err := parseTarget(path)
	if err != nil {
		return logical.RotationResult{}, err
	}
	rotate := b.rotateRole
	if kind == targetConfig {
		rotate = b.rotateRoot
	}
	at, err := rotate(ctx, s, name, reasonPolicy)
	if err != nil {
		return logical.RotationResult{}, err
	}
	return logical.RotationResult{RotatedAt: at}, nil
}

// Verify implements logical.Rotator: it logs in as the target's user
// with its stored password, through a fresh instance of the
// connection's plugin (so it works whatever the state of the pool). A
// refused login matches logical.ErrDrift, unless the password of a
// rotation in flight is accepted (then ErrRotationInFlight: the
// rotation's retry settles it); a failure to reach the server matches
// neither. It holds the target's lock, so it never sees a rotation
// half done.
func (b *Backend) Verify(ctx context.Context, s logical.Storage, path string) error {
	kind, name, err := parseTarget(path)
	if err != nil {
		return err
	}
	if kind == targetConfig {
		l := b.conns.nameLocks.Of(name)
		l.Lock()
		defer l.Unlock()
		cfg, err := mustConfig(ctx, s, name)
		if err != nil {
			return err
		}
		return b.verifyLogin(ctx, path, cfg, cfg.Username, cfg.Password, cfg.PendingPassword)
	}
	l := b.roleLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	r, err := mustStaticRole(ctx, s, name)
	if err != nil {
		return err
	}
	cfg, err := mustConfig(ctx, s, r.DBName)
	if err != nil {
		return err
	}
	return b.verifyLogin(ctx, path, cfg, r.Username, r.Password, r.PendingPassword)
}

// verifyLogin checks that username logs in with password to cfg's
// server (see Verify).
func (b *Backend) verifyLogin(ctx context.Context, path string, cfg *connConfig, username, password, pending string) error {
	db, err := b.initialize(ctx, cfg, cfg.Password, false)
	if err != nil {
		return fmt.Errorf("database: verify %s: %w", path, err)
	}
	defer func() { _ = db.Close() }()
	err = db.VerifyCredentials(ctx, username, password)
	if errors.Is(err, dbplugin.ErrAuthFailed) && pending != "" && db.VerifyCredentials(ctx, username, pending) == nil {
		return fmt.Errorf("database: verify %s: %w", path, ErrRotationInFlight)
	}
	err = scrub(err, append(secretsOf(cfg.Password, cfg.ConnectionURL), password, pending)...)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dbplugin.ErrAuthFailed):
		return fmt.Errorf("database: verify %s: the server refuses the stored password of %q: %w: %w", path, username, logical.ErrDrift, err)
	default:
		return fmt.Errorf("database: verify %s: %w", path, err)
	}
}

// parseTarget splits a target path into its kind (targetStaticRole or
// targetConfig) and name; anything else matches logical.ErrNotFound.
func parseTarget(path string) (kind, name string, err error) {
	for _, kind := range []string{targetStaticRole, targetConfig} {
		if name, ok := strings.CutPrefix(path, kind); ok && nameOnly.MatchString(name) {
			return kind, name, nil
		}
	}
	return "", "", fmt.Errorf("database: %q is not a rotation target: %w", path, logical.ErrNotFound)
}
