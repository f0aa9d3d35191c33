package token

import (
	"context"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// handleRenew renews the token in the "token" field by "increment".
func (s *Store) handleRenew(ctx context.Context, _ *logical.Request, d *framework.FieldData, _ *Entry) (*logical.Response, error) {
	raw, err := requiredToken(d)
	if err != nil {
		return nil, err
	}
	h, err := s.hash(raw)
	if err != nil {
		return nil, err
	}
	return s.renewResponse(ctx, d, h, raw)
}

// handleRenewSelf renews the caller's token.
func (s *Store) handleRenewSelf(ctx context.Context, req *logical.Request, d *framework.FieldData, caller *Entry) (*logical.Response, error) {
	return s.renewResponse(ctx, d, caller.id, req.ClientToken)
}

// handleRenewAccessor renews the token behind "accessor"; the response
// does not reveal the token.
func (s *Store) handleRenewAccessor(ctx context.Context, _ *logical.Request, d *framework.FieldData, _ *Entry) (*logical.Response, error) {
	accessor, err := requiredAccessor(d)
	if err != nil {
		return nil, err
	}
	e, err := s.liveByAccessor(ctx, accessor)
	if err != nil {
		return nil, err
	}
	return s.renewResponse(ctx, d, e.id, "")
}

// renewResponse renews token h and answers with Vault's auth block, whose
// lease_duration is the new remaining TTL.
func (s *Store) renewResponse(ctx context.Context, d *framework.FieldData, h, raw string) (*logical.Response, error) {
	var in struct {
		Increment time.Duration `json:"increment"`
	}
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if err := nonNegative("increment", in.Increment); err != nil {
		return nil, err
	}
	e, warnings, err := s.renew(ctx, h, in.Increment)
	if err != nil {
		return nil, err
	}
	auth := authBlock(e, raw)
	auth.LeaseDuration = int(e.ExpireTime.Sub(s.opts.Now()).Round(time.Second) / time.Second)
	return &logical.Response{Auth: auth, Warnings: warnings}, nil
}
