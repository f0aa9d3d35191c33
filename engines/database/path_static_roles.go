package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Vault's bounds: the shortest rotation period its queue can honour,
// and the shortest rotation window.
const (
	minRotationPeriod = 5 * time.Second
	minRotationWindow = time.Hour
)

func staticRoleFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"name":                {Type: framework.TypeString, Description: "Name of the static role."},
		"db_name":             {Type: framework.TypeString, Description: "Name of the connection the role uses."},
		"username":            {Type: framework.TypeString, Description: "The existing database user whose password the role manages."},
		"rotation_period":     {Type: framework.TypeDuration, Description: "Rotate the password this long after the last rotation."},
		"rotation_schedule":   {Type: framework.TypeString, Description: "Rotate on this cron schedule (standard 5 fields)."},
		"rotation_window":     {Type: framework.TypeDuration, Description: "How long after a scheduled time a rotation may still run."},
		"rotation_statements": {Type: framework.TypeStringSlice, Description: "Statements changing the password (default: the plugin's)."},
		"credential_type":     {Type: framework.TypeString, Description: `Only "password" is supported.`},
	}
}

// staticRoleInput is a static role write; nil means "not sent".
type staticRoleInput struct {
	DBName             *string        `json:"db_name"`
	Username           *string        `json:"username"`
	RotationPeriod     *time.Duration `json:"rotation_period"`
	RotationSchedule   *string        `json:"rotation_schedule"`
	RotationWindow     *time.Duration `json:"rotation_window"`
	RotationStatements *[]string      `json:"rotation_statements"`
	CredentialType     *string        `json:"credential_type"`
}

// apply sets the fields sent on r; a new period clears a schedule and
// the reverse, as in Vault.
func (in *staticRoleInput) apply(r *staticRole, create bool) error {
	if in.Username != nil && !create && *in.Username != r.Username {
		return logical.InvalidRequest("username", "cannot update static account username")
	}
	if in.RotationPeriod != nil && in.RotationSchedule != nil && *in.RotationPeriod != 0 && *in.RotationSchedule != "" {
		return logical.InvalidRequest("rotation_schedule", "mutually exclusive with rotation_period")
	}
	set(&r.DBName, in.DBName)
	set(&r.Username, in.Username)
	if in.RotationPeriod != nil && *in.RotationPeriod != 0 {
		r.RotationPeriod, r.RotationSchedule, r.RotationWindow = *in.RotationPeriod, "", 0
	}
	if in.RotationSchedule != nil && *in.RotationSchedule != "" {
		r.RotationSchedule, r.RotationPeriod = *in.RotationSchedule, 0
	}
	set(&r.RotationWindow, in.RotationWindow)
	set(&r.RotationStatements, in.RotationStatements)
	r.RotationStatements = removeEmpty(r.RotationStatements)
	return nil
}

// validate checks a static role's settings.
func (r *staticRole) validate() error {
	switch {
	case r.DBName == "":
		return logical.InvalidRequest("db_name", "missing required field")
	case r.Username == "":
		return logical.InvalidRequest("username", "missing required field")
	case r.RotationPeriod == 0 && r.RotationSchedule == "":
		return logical.InvalidRequest("rotation_period", "rotation_period or rotation_schedule is required")
	case r.RotationPeriod != 0 && r.RotationPeriod < minRotationPeriod:
		return logical.InvalidRequest("rotation_period", "must be %d seconds or more", int(minRotationPeriod/time.Second))
	case r.RotationWindow != 0 && r.RotationSchedule == "":
		return logical.InvalidRequest("rotation_window", "only valid with rotation_schedule")
	case r.RotationWindow != 0 && r.RotationWindow < minRotationWindow:
		return logical.InvalidRequest("rotation_window", "must be %d seconds or more", int(minRotationWindow/time.Second))
	}
	if r.RotationSchedule != "" {
		if _, err := cron.ParseStandard(r.RotationSchedule); err != nil {
			return logical.InvalidRequest("rotation_schedule", "not a standard 5-field cron schedule: %s", err.Error())
		}
	}
	return nil
}

func (b *Backend) pathStaticRoleList() *framework.Path {
	return &framework.Path{
		Pattern:      `static-roles/?`,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.ListOperation: b.handleStaticRoleList},
		HelpSynopsis: "List the static roles.",
	}
}

func (b *Backend) pathStaticRole() *framework.Path {
	return &framework.Path{
		Pattern: `static-roles/` + nameRe,
		Fields:  staticRoleFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleStaticRoleRead,
			logical.UpdateOperation: b.handleStaticRoleWrite,
			logical.DeleteOperation: b.handleStaticRoleDelete,
		},
		ExistenceCheck: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
			r, err := loadStaticRole(ctx, req.Storage, d.String("name"))
			return r != nil, err
		},
		HelpSynopsis: "Manage the static roles: existing users whose passwords the engine rotates.",
	}
}

func (b *Backend) handleStaticRoleList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	return listKeys(ctx, req.Storage, staticRolePrefix)
}

// mustStaticRole loads a static role; a missing one is
// logical.ErrNotFound.
func mustStaticRole(ctx context.Context, s logical.Storage, name string) (*staticRole, error) {
	r, err := loadStaticRole(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("database: unknown static role: %s: %w", name, logical.ErrNotFound)
	}
	return r, nil
}

// rotationData is the rotation settings as reads report them.
func (r *staticRole) rotationData(data map[string]any) map[string]any {
	if r.RotationSchedule != "" {
		data["rotation_schedule"] = r.RotationSchedule
		if r.RotationWindow != 0 {
			data["rotation_window"] = seconds(r.RotationWindow)
		}
	} else {
		data["rotation_period"] = seconds(r.RotationPeriod)
	}
	if !r.LastVaultRotation.IsZero() {
		data["last_vault_rotation"] = r.LastVaultRotation.UTC().Format(time.RFC3339Nano)
	}
	return data
}

func (b *Backend) handleStaticRoleRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	r, err := mustStaticRole(ctx, req.Storage, d.String("name"))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: r.rotationData(map[string]any{
		"db_name":             r.DBName,
		"username":            r.Username,
		"rotation_statements": nonNil(r.RotationStatements),
		"credential_type":     "password",
	})}, nil
}

// handleStaticRoleWrite creates a static role, rotating its password at
// once (a failed first rotation creates nothing), or updates the fields
// sent and reschedules.
func (b *Backend) handleStaticRoleWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	var in staticRoleInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if err := checkCredentialType(in.CredentialType); err != nil {
		return nil, err
	}
	l := b.roleLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	if r, err := loadRole(ctx, req.Storage, name); err != nil || r != nil {
		if err != nil {
			return nil, err
		}
		return nil, logical.InvalidRequest("name", errNameTaken)
	}
	r, err := loadStaticRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	create := r == nil
	if create {
		r = &staticRole{}
	}
	old := *r
	if err := in.apply(r, create); err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	if err := b.checkStaticConnection(ctx, req.Storage, name, r); err != nil {
		return nil, err
	}
	if create {
		return nil, b.createStatic(ctx, req.Storage, name, r)
	}
	if r.RotationPeriod != old.RotationPeriod || r.RotationSchedule != old.RotationSchedule {
		r.NextRotation = b.nextRotation(r, r.LastVaultRotation)
	}
	if err := putJSON(ctx, req.Storage, staticRolePrefix+name, r); err != nil {
		return nil, err
	}
	b.sched.set(name, r.due())
	return nil, nil
}

// checkStaticConnection checks the role's connection exists, admits it,
// and is not managed through the connection's own user.
func (b *Backend) checkStaticConnection(ctx context.Context, s logical.Storage, name string, r *staticRole) error {
	cfg, err := mustConfig(ctx, s, r.DBName)
	if errors.Is(err, logical.ErrNotFound) {
		return logical.InvalidRequest("db_name", "no connection configuration %q", r.DBName)
	}
	if err != nil {
		return err
	}
	if err := checkAllowed(cfg, r.DBName, name); err != nil {
		return err
	}
	if cfg.Username != "" && r.Username == cfg.Username {
		return logical.InvalidRequest("username", "is the connection's own user; rotate it with rotate-root")
	}
	return nil
}

// createStatic stores a new static role through its first rotation.
func (b *Backend) createStatic(ctx context.Context, s logical.Storage, name string, r *staticRole) error {
	if err := b.rotateStatic(ctx, s, name, r, "create"); err != nil {
		if derr := deleteKey(ctx, s, staticRolePrefix+name); derr != nil {
			err = errors.Join(err, derr)
		}
		b.sched.remove(name)
		return err
	}
	return nil
}

func (b *Backend) handleStaticRoleDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	l := b.roleLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	if err := deleteKey(ctx, req.Storage, staticRolePrefix+name); err != nil {
		return nil, err
	}
	b.sched.remove(name)
	return nil, nil
}
