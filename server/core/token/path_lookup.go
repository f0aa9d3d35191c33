package token

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// errBadToken is Vault's answer to a lookup of an invalid token: 403 "bad token".
var errBadToken error = &errorMessage{msg: "bad token", kind: ErrInvalidToken}

// handleLookup looks up the token in the "token" field, or the caller's
// own token when the field is empty (as Vault does).
func (s *Store) handleLookup(ctx context.Context, req *logical.Request, d *framework.FieldData, caller *Entry) (*logical.Response, error) {
	raw, err := tokenField(d)
	if err != nil {
		return nil, err
	}
	if raw == "" {
		return s.handleLookupSelf(ctx, req, d, caller)
	}
	h, err := s.hash(raw)
	if err != nil {
		return nil, err
	}
	e, err := s.loadLive(ctx, h)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, errBadToken
	}
	return &logical.Response{Data: s.lookupData(e, raw)}, nil
}

// handleLookupSelf describes the caller's token. It answers from caller,
// so a token on its last use can still look itself up.
func (s *Store) handleLookupSelf(_ context.Context, req *logical.Request, _ *framework.FieldData, caller *Entry) (*logical.Response, error) {
	id := ""
	if req.ClientToken != "" {
		h, err := s.hash(req.ClientToken)
		if err != nil {
			return nil, err
		}
		if !sameHash(h, caller.id) {
			return nil, fmt.Errorf("token: lookup-self: client token is not the caller's: %w", logical.ErrPermissionDenied)
		}
		id = req.ClientToken
	}
	return &logical.Response{Data: s.lookupData(caller, id)}, nil
}

func (s *Store) handleLookupAccessor(ctx context.Context, req *logical.Request, d *framework.FieldData, _ *Entry) (*logical.Response, error) {
	accessor, err := requiredAccessor(d)
	if err != nil {
		return nil, err
	}
	e, err := s.liveByAccessor(ctx, accessor)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: s.lookupData(e, "")}, nil
}

// liveByAccessor returns the live token behind accessor or a 400
// "invalid accessor".
func (s *Store) liveByAccessor(ctx context.Context, accessor string) (*Entry, error) {
	h, err := s.byAccessor(ctx, accessor)
	if err != nil {
		return nil, err
	}
	var e *Entry
	if h != "" {
		if e, err = s.loadLive(ctx, h); err != nil {
			return nil, err
		}
	}
	if e == nil {
		return nil, badRequest("invalid accessor")
	}
	return e, nil
}

// handleAccessors lists the accessors of all live tokens (root or sudo).
func (s *Store) handleAccessors(ctx context.Context, _ *logical.Request, _ *framework.FieldData, caller *Entry) (*logical.Response, error) {
	if !privileged(ctx, caller) {
		return nil, fmt.Errorf("token: accessors: root or sudo privileges required: %w", logical.ErrPermissionDenied)
	}
	ids, err := s.view.List(ctx, idPrefix)
	if err != nil {
		return nil, fmt.Errorf("token: list tokens: %w", err)
	}
	keys := make([]string, 0, len(ids))
	for _, h := range ids {
		e, err := s.loadLive(ctx, h)
		if err != nil {
			return nil, err
		}
		if e != nil {
			keys = append(keys, e.Accessor)
		}
	}
	sort.Strings(keys)
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

// lookupData renders e as Vault's lookup data; id is the raw token when
// the caller supplied it, "" otherwise.
func (s *Store) lookupData(e *Entry, id string) map[string]any {
	var meta any
	if e.Meta != nil {
		meta = e.Meta
	}
	d := map[string]any{
		"accessor":         e.Accessor,
		"creation_time":    e.CreationTime.Unix(),
		"creation_ttl":     int64(e.TTL / time.Second),
		"display_name":     e.DisplayName,
		"entity_id":        e.EntityID,
		"expire_time":      nil,
		"explicit_max_ttl": int64(e.ExplicitMaxTTL / time.Second),
		"id":               id,
		"issue_time":       e.CreationTime.Format(time.RFC3339Nano),
		"meta":             meta,
		"num_uses":         e.NumUses,
		"orphan":           e.Orphan,
		"path":             e.Path,
		"policies":         e.Policies,
		"renewable":        e.Renewable,
		"ttl":              int64(0),
		"type":             TypeService,
	}
	if !e.ExpireTime.IsZero() {
		d["expire_time"] = e.ExpireTime.Format(time.RFC3339Nano)
		d["ttl"] = int64(e.ExpireTime.Sub(s.opts.Now()).Round(time.Second) / time.Second)
	}
	if len(e.BoundCIDRs) > 0 {
		d["bound_cidrs"] = e.BoundCIDRs
	}
	if e.Period > 0 {
		d["period"] = int64(e.Period / time.Second)
	}
	if !e.LastRenewalTime.IsZero() {
		d["last_renewal_time"] = e.LastRenewalTime.Unix()
		d["last_renewal"] = e.LastRenewalTime.Format(time.RFC3339Nano)
	}
	return d
}
