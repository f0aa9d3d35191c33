package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/server/core/rotation"
)

// rotationBlock is the body of a `rotation_policy "NAME" { ... }` block.
// Durations are Vault's ("720h", "30d", or seconds).
type rotationBlock struct {
	Match          string            `hcl:"match"`
	MountType      string            `hcl:"mount_type"`
	Tags           map[string]string `hcl:"tags"`
	Schedule       string            `hcl:"schedule"`
	MaxAge         string            `hcl:"max_age"`
	WarnAt         string            `hcl:"warn_at"`
	Enforce        string            `hcl:"enforce"`
	OnFailure      string            `hcl:"on_failure"`
	VerifyInterval string            `hcl:"verify_interval"`
}

// notifyBlock is a `notify { url = "..."; secret = "..." }` block.
type notifyBlock struct {
	URL    string `hcl:"url"`
	Secret string `hcl:"secret"`
}

// decodeRotation decodes every rotation_policy block:
//
//	rotation_policy "prod-db" {
//	  match     = "database/static-roles/*"
//	  schedule  = "0 0 * * 0"
//	  max_age   = "30d"
//	  warn_at   = "25d"
//	  enforce   = "rotate"
//	  notify { url = "https://hooks.example.com/rotation"  secret = "..." }
//	}
func decodeRotation(list *ast.ObjectList) ([]*rotation.Policy, error) {
	var out []*rotation.Policy
	seen := map[string]bool{}
	for _, item := range list.Filter("rotation_policy").Items {
		if len(item.Keys) != 1 {
			return nil, fmt.Errorf(`config: rotation_policy block needs one name: rotation_policy "name" { }`)
		}
		name := item.Keys[0].Token.Value().(string)
		if seen[name] {
			return nil, fmt.Errorf("config: rotation_policy %q declared twice", name)
		}
		seen[name] = true
		var b rotationBlock
		if err := hcl.DecodeObject(&b, item.Val); err != nil {
			return nil, fmt.Errorf("config: rotation_policy %q: %w", name, err)
		}
		hooks, err := decodeNotify(item.Val)
		if err != nil {
			return nil, fmt.Errorf("config: rotation_policy %q: %w", name, err)
		}
		p, err := b.policy(name, hooks)
		if err != nil {
			return nil, fmt.Errorf("config: rotation_policy %q: %w", name, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// policy builds and validates the block's policy.
func (b *rotationBlock) policy(name string, hooks []rotation.Webhook) (*rotation.Policy, error) {
	p := &rotation.Policy{Name: name, Match: strings.TrimPrefix(b.Match, "/"), MountType: b.MountType, Tags: b.Tags,
		Schedule: b.Schedule, Enforce: b.Enforce, OnFailure: b.OnFailure, Source: "config"}
	for _, d := range []struct {
		field, raw string
		dst        *time.Duration
	}{{"max_age", b.MaxAge, &p.MaxAge}, {"warn_at", b.WarnAt, &p.WarnAt}, {"verify_interval", b.VerifyInterval, &p.VerifyInterval}} {
		if d.raw == "" {
			continue
		}
		v, err := framework.ParseDuration(d.raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.field, err)
		}
		*d.dst = v
	}
	p.Notify = hooks
	if p.Enforce == "" {
		p.Enforce = rotation.EnforceRotate
	}
	if p.OnFailure == "" {
		p.OnFailure = rotation.OnFailureRetry
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeNotify decodes the notify blocks of a rotation_policy body, one
// by one (HCL's slice decoding merges repeated blocks).
func decodeNotify(body ast.Node) ([]rotation.Webhook, error) {
	obj, ok := body.(*ast.ObjectType)
	if !ok {
		return nil, nil
	}
	var out []rotation.Webhook
	for _, it := range obj.List.Filter("notify").Items {
		var n notifyBlock
		if err := hcl.DecodeObject(&n, it.Val); err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
		out = append(out, rotation.Webhook{URL: n.URL, Secret: n.Secret})
	}
	return out, nil
}
