package core

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/rotation"
)

// rotationPaths are the rotation-policy endpoints: sys/rotation/policies
// (LIST), sys/rotation/policies/:name (PUT, GET, DELETE), .../:name/run,
// .../:name/history, sys/rotation/status and sys/rotation/rotate (a
// rotation by hand). Writes are the Cedar action "sudo"; run and rotate
// are "rotate".
func (c sysHandlers) rotationPaths() []*framework.Path {
	h := &rotationHandlers{c: c.Core}
	f := map[string]*framework.FieldSchema{
		"name":            {Type: framework.TypeString, Description: "The policy's name."},
		"match":           {Type: framework.TypeString, Description: "A glob over full API paths, e.g. secret/data/app/*."},
		"mount_type":      {Type: framework.TypeString, Description: "Only secrets of mounts of this type."},
		"tags":            {Type: framework.TypeStringMap, Description: "Custom-metadata tags a secret must have."},
		"schedule":        {Type: framework.TypeString, Description: "A cron expression (optional seconds field, CRON_TZ=)."},
		"max_age":         {Type: framework.TypeDuration, Description: "The age past which a secret is overdue."},
		"warn_at":         {Type: framework.TypeDuration, Description: "The age past which a secret is reported."},
		"enforce":         {Type: framework.TypeString, Default: rotation.EnforceRotate, Description: "rotate, notify or quarantine."},
		"on_failure":      {Type: framework.TypeString, Default: rotation.OnFailureRetry, Description: "retry, notify or quarantine."},
		"verify_interval": {Type: framework.TypeDuration, Description: "How often verifiable secrets are checked for drift."},
		"notify":          {Type: framework.TypeStringSlice, Description: "Webhook URLs told of warnings, overdue secrets, failures and drift."},
		"notify_secret":   {Type: framework.TypeString, Description: "The key of the webhooks' HMAC-SHA256 signature."},
		"path":            {Type: framework.TypeString, Description: "The full path of the secret to rotate."},
	}
	rotate := map[logical.Operation]string{logical.UpdateOperation: "rotate"}
	p := func(pattern string, ops map[logical.Operation]framework.OperationHandler, actions map[logical.Operation]string, help string) *framework.Path {
		return &framework.Path{Pattern: pattern, Fields: f, Operations: ops, Actions: actions, HelpSynopsis: help}
	}
	return []*framework.Path{
		p("rotation/policies/?", listOp(h.list), nil, "List the rotation policies."),
		p("rotation/policies/(?P<name>[^/]+)", map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: h.read, logical.UpdateOperation: h.write, logical.DeleteOperation: h.delete,
		}, nil, "Write, read or delete a rotation policy."),
		p("rotation/policies/(?P<name>[^/]+)/run", writeOp(h.run), rotate, "Run a rotation policy now."),
		p("rotation/policies/(?P<name>[^/]+)/history", readOp(h.history), nil, "A rotation policy's runs."),
		p("rotation/status", readOp(h.status), nil, "Every matched secret's age and standing."),
		p("rotation/rotate", writeOp(h.rotateNow), rotate, "Rotate one secret now."),
	}
}

// rotationHandlers serve the rotation endpoints from the scheduler.
type rotationHandlers struct{ c *Core }

func (h *rotationHandlers) scheduler() (*rotation.Scheduler, error) {
	if _, err := h.c.state(); err != nil {
		return nil, err
	}
	return h.c.rotation, nil
}

func (h *rotationHandlers) list(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	s, err := h.scheduler()
	if err != nil {
		return nil, err
	}
	names, err := s.ListPolicies(ctx)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no rotation policies", logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": names}}, nil
}

func (h *rotationHandlers) read(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s, err := h.scheduler()
	if err != nil {
		return nil, err
	}
	p, err := s.GetPolicy(ctx, d.String("name"))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: policyData(p)}, nil
}

// policyData renders a policy; durations in seconds, as Vault's TTLs;
// the webhook secret is never shown.
func policyData(p *rotation.Policy) map[string]any {
	urls := make([]string, 0, len(p.Notify))
	secret := false
	for _, w := range p.Notify {
		urls = append(urls, w.URL)
		secret = secret || w.Secret != ""
	}
	tags := p.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{
		"name": p.Name, "match": p.Match, "mount_type": p.MountType, "tags": tags, "schedule": p.Schedule,
		"max_age": int64(p.MaxAge / time.Second), "warn_at": int64(p.WarnAt / time.Second),
		"enforce": p.Enforce, "on_failure": p.OnFailure, "verify_interval": int64(p.VerifyInterval / time.Second),
		"notify": urls, "notify_secret_set": secret, "source": p.Source,
	}
}

func (h *rotationHandlers) write(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s, err := h.scheduler()
	if err != nil {
		return nil, err
	}
	p := &rotation.Policy{
		Name: d.String("name"), Match: strings.TrimPrefix(d.String("match"), "/"), MountType: d.String("mount_type"),
		Tags: d.StringMap("tags"), Schedule: d.String("schedule"), MaxAge: d.Duration("max_age"), WarnAt: d.Duration("warn_at"),
		Enforce: d.String("enforce"), OnFailure: d.String("on_failure"), VerifyInterval: d.Duration("verify_interval"),
	}
	for _, u := range d.StringSlice("notify") {
		p.Notify = append(p.Notify, rotation.Webhook{URL: u, Secret: d.String("notify_secret")})
	}
	return nil, s.PutPolicy(ctx, p)
}

func (h *rotationHandlers) delete(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s, err := h.scheduler()
	if err != nil {
		return nil, err
	}
	return nil, s.DeletePolicy(ctx, d.String("name"))
}

func (h *rotationHandlers) run(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s, err := h.scheduler()
	if err != nil {
		return nil, err
	}
	return nil, s.RunNow(ctx, d.String("name"))
}

func (h *rotationHandlers) history(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s, err := h.scheduler()
	if err != nil {
		return nil, err
	}
	runs, err := s.History(ctx, d.String("name"))
	if err != nil {
		return nil, err
	}
	out := make([]any, len(runs))
	for i, r := range runs {
		m := map[string]any{"seq": r.Seq, "time": r.Time.UTC().Format(time.RFC3339Nano), "policy": r.Policy, "path": r.Path,
			"reason": r.Reason, "result": r.Result, "version": r.Version, "error": r.Error}
		if !r.Slot.IsZero() {
			m["slot"] = r.Slot.UTC().Format(time.RFC3339)
		}
		out[i] = m
	}
	return &logical.Response{Data: map[string]any{"runs": out}}, nil
}

func (h *rotationHandlers) status(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	s, err := h.scheduler()
	if err != nil {
		return nil, err
	}
	st, err := s.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(st))
	counts := map[string]int{}
	for i, x := range st {
		counts[x.State]++
		m := map[string]any{"path": x.Path, "policy": x.Policy, "state": x.State,
			"last_rotated": x.LastRotated.UTC().Format(time.RFC3339), "age": int64(x.Age / time.Second),
			"max_age": int64(x.MaxAge / time.Second), "warn_at": int64(x.WarnAt / time.Second)}
		if !x.Due.IsZero() {
			m["due"] = x.Due.UTC().Format(time.RFC3339)
		}
		if !x.NextRotation.IsZero() {
			m["next_rotation"] = x.NextRotation.UTC().Format(time.RFC3339)
		}
		out[i] = m
	}
	return &logical.Response{Data: map[string]any{"secrets": out, "ok": counts[rotation.StateOK],
		"warn": counts[rotation.StateWarn], "overdue": counts[rotation.StateOverdue], "quarantined": counts[rotation.StateQuarantined]}}, nil
}

func (h *rotationHandlers) rotateNow(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	s, err := h.scheduler()
	if err != nil {
		return nil, err
	}
	path := strings.Trim(d.String("path"), "/")
	if path == "" {
		return nil, logical.InvalidRequest("path", "the full path of the secret to rotate is required")
	}
	res, err := s.RotateNow(ctx, path)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"path": path, "version": res.Version,
		"rotated_at": res.RotatedAt.UTC().Format(time.RFC3339Nano)}, AuditClear: []string{"path", "version", "rotated_at"}}, nil
}
