package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/rotation"
	"github.com/secretumvault/secretumvault/storage"
)

// The rotation-policy scheduler's link to the core: the mounts whose
// engines rotate (logical.Rotator), an audit entry pair for every action
// it takes, and the quarantine check of the pipeline.

// newRotationScheduler builds the scheduler over the barrier.
func (c *Core) newRotationScheduler() (*rotation.Scheduler, error) {
	return rotation.New(rotation.Config{
		Storage:       storage.NewView(c.barrier, rotationPrefix),
		Mounts:        c.rotatingMounts,
		Audit:         c.auditRotation,
		Declared:      c.cfg.RotationPolicies,
		Now:           c.cfg.Now,
		Logger:        c.logger.With(slog.String("subsystem", "rotation")),
		CheckInterval: c.cfg.RotationCheckInterval,
	})
}

// rotatingMounts lists the active node's secrets mounts whose engine is
// a logical.Rotator.
func (c *Core) rotatingMounts() []rotation.Mount {
	st := c.active.Load()
	if st == nil {
		return nil
	}
	var out []rotation.Mount
	for _, rt := range st.router.of(secretMounts) {
		if r, ok := rt.backend.(logical.Rotator); ok {
			out = append(out, rotation.Mount{Path: rt.prefix, Type: rt.entry.Type, Rotator: r, Storage: rt.view})
		}
	}
	return out
}

// auditRotation writes the audit entry pair of one scheduler action: the
// operation is the action's kind (rotate, warn, overdue, quarantine,
// lift, drift), the path the secret's, the deciding policy
// "rotation-policy:<name>"; the response names the policy, the reason
// and the new version, in clear (never the secret).
func (c *Core) auditRotation(ctx context.Context, a rotation.Action, do func() (string, error)) error {
	id, err := logical.NewUUID()
	if err != nil {
		return err
	}
	mountType := ""
	if st := c.active.Load(); st != nil {
		if rt := st.router.match(a.Path); rt != nil {
			mountType = rt.entry.Type
		}
	}
	e := &audit.Entry{Time: c.cfg.Now(), RequestID: id, Operation: a.Kind, Path: a.Path, MountType: mountType,
		Decision: audit.Decision{Allowed: true, PolicyIDs: []string{"rotation-policy:" + a.Policy}}}
	_, err = c.auditedAction(ctx, e, func() (*logical.Response, error) {
		version, err := do()
		e.ResponseData = map[string]any{"policy": a.Policy, "reason": a.Reason}
		if version != "" {
			e.ResponseData["version"] = version
		}
		e.ResponseClear = []string{"policy", "reason", "version"} // no secret: names, a version
		return nil, err
	})
	return err
}

// RotationStats reports every rotation policy's figures for metrics
// (empty on a standby).
func (c *Core) RotationStats() map[string]rotation.PolicyStats { return c.rotation.Stats() }

var _ logical.WebhookPolicy = mountSystem{}

// AllowWebhook implements logical.WebhookPolicy: a KV rotate_webhook may
// name only a host of the server configuration's rotation_webhook_hosts
// (whoever may write a secret's metadata chooses the URL the active node
// calls).
func (m mountSystem) AllowWebhook(u *url.URL) error {
	host := strings.ToLower(u.Hostname())
	for _, h := range m.c.cfg.RotationWebhookHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "*", h == host:
			return nil
		case strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]):
			return nil
		}
	}
	if len(m.c.cfg.RotationWebhookHosts) == 0 {
		return errors.New("rotation webhooks are disabled: list the allowed hosts in the server configuration's rotation_webhook_hosts")
	}
	return fmt.Errorf("host %q is not in the server configuration's rotation_webhook_hosts", host)
}
