package database

import (
	"context"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathStaticCreds() *framework.Path {
	return &framework.Path{
		Pattern:      `static-creds/` + nameRe,
		Fields:       map[string]*framework.FieldSchema{"name": {Type: framework.TypeString}},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.ReadOperation: b.handleStaticCreds},
		HelpSynopsis: "Read the current credentials of a static role.",
	}
}

func (b *Backend) pathRotateRole() *framework.Path {
	return &framework.Path{
		Pattern:      `rotate-role/` + nameRe,
		Fields:       map[string]*framework.FieldSchema{"name": {Type: framework.TypeString}},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleRotateRole},
		Actions:      map[logical.Operation]string{logical.UpdateOperation: "rotate"},
		HelpSynopsis: "Rotate a static role's password now.",
	}
}

// handleStaticCreds answers a static role's username and current
// password, when it was last rotated and how long until the next
// rotation (ttl, in seconds).
func (b *Backend) handleStaticCreds(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	r, err := mustStaticRole(ctx, req.Storage, name)
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
	ttl := max(r.NextRotation.Sub(b.now()).Round(time.Second), 0)
	return &logical.Response{Data: r.rotationData(map[string]any{
		"username": r.Username,
		"password": r.Password,
		"ttl":      seconds(ttl),
	})}, nil
}

// handleRotateRole rotates a static role's password now. On failure the
// current password stays readable and the rotation is retried by
// Periodic.
func (b *Backend) handleRotateRole(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	_, err := b.rotateRole(ctx, req.Storage, d.String("name"), "manual")
	return nil, err
}

// rotateRole is rotate-role's work, reported to the observer with
// reason; it returns when the new password took effect.
func (b *Backend) rotateRole(ctx context.Context, s logical.Storage, name, reason string) (time.Time, error) {
	l := b.roleLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	r, err := mustStaticRole(ctx, s, name)
	if err != nil {
		return time.Time{}, err
	}
	if err := b.rotateStatic(ctx, s, name, r, reason); err != nil {
		return time.Time{}, fmt.Errorf("unable to finish rotating credentials; retries will continue in the background but it is also safe to retry manually: %w", err)
	}
	return r.LastVaultRotation, nil
}
