package token

import (
	"context"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// handleRenew renews the token in the "token" field by "increment".
func (s *Store) handleRenew(ctx context.Context, req *logical.Request, _ *Entry) (*logical.Response, error) {
	raw, err := requiredToken(req)
	if err != nil {
		return nil, err
	}
	h, err := s.hash(raw)
	if err != nil {
		return nil, err
	}
	return s.renewResponse(ctx, req, h, raw)
}

// handleRenewSelf renews the caller's token.
func (s *Store) handleRenewSelf(ctx context.Context, req *logical.Request, caller *Entry) (*logical.Response, error) {
	return s.renewResponse(ctx, req, caller.id, req.ClientToken)
}

// handleRenewAccessor renews the token behind "accessor"; the response
// does not reveal the token.
func (s *Store) handleRenewAccessor(ctx context.Context, req *logical.Request, _ *Entry) (*logical.Response, error) {
	accessor, err := requiredAccessor(req)
	if err != nil {
		return nil, err
	}
	e, err := s.liveByAccessor(ctx, accessor)
	if err != nil {
		return nil, err
	}
	return s.renewResponse(ctx, req, e.id, "")
}

// renewResponse renews token h and answers with Vault's auth block, whose
// lease_duration is the new remaining TTL.
func (s *Store) renewResponse(ctx context.Context, req *logical.Request, h, raw string) (*logical.Response, error) {
	increment, err := fields(req.Data).duration("increment")
	if err != nil {
		return nil, err
	}
	e, warnings, err := s.renew(ctx, h, increment)
	if err != nil {
		return nil, err
	}
	auth := authBlock(e, raw)
	auth.LeaseDuration = int(e.ExpireTime.Sub(s.opts.Now()).Round(time.Second) / time.Second)
	return &logical.Response{Auth: auth, Warnings: warnings}, nil
}
