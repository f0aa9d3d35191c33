package client

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// TokenAuth groups the auth/token/ endpoints.
type TokenAuth struct{ c *Client }

// Token returns the auth/token/ helpers.
func (c *Client) Token() *TokenAuth { return &TokenAuth{c: c} }

// TokenCreateRequest is the body of auth/token/create. TTLs are durations
// such as "1h" or seconds such as "3600"; empty fields take server defaults.
type TokenCreateRequest struct {
	ID              string            `json:"id,omitempty"`
	Policies        []string          `json:"policies,omitempty"`
	Metadata        map[string]string `json:"meta,omitempty"`
	NoParent        bool              `json:"no_parent,omitempty"`
	NoDefaultPolicy bool              `json:"no_default_policy,omitempty"`
	// Renewable nil leaves the server default (renewable).
	Renewable      *bool  `json:"renewable,omitempty"`
	TTL            string `json:"ttl,omitempty"`
	ExplicitMaxTTL string `json:"explicit_max_ttl,omitempty"`
	Period         string `json:"period,omitempty"`
	DisplayName    string `json:"display_name,omitempty"`
	NumUses        int    `json:"num_uses,omitempty"`
	Type           string `json:"type,omitempty"`
	EntityAlias    string `json:"entity_alias,omitempty"`
}

// Create issues a child token of the client's token (POST
// auth/token/create; NoParent makes an orphan). The new token is in
// Secret.Auth.ClientToken.
func (t *TokenAuth) Create(ctx context.Context, req *TokenCreateRequest) (*Secret, error) {
	if req == nil {
		req = &TokenCreateRequest{}
	}
	s, err := t.c.secret(ctx, request{method: http.MethodPost, path: "auth/token/create", body: req})
	if err == nil && (s == nil || s.Auth == nil) {
		err = fmt.Errorf("client: answer carries no auth block")
	}
	if err != nil {
		return nil, fmt.Errorf("token create: %w", err)
	}
	return s, nil
}

// Lookup describes token (POST auth/token/lookup); the fields are in
// Secret.Data (id, accessor, policies, ttl, ...).
func (t *TokenAuth) Lookup(ctx context.Context, token string) (*Secret, error) {
	if token == "" {
		return nil, invalidArg("empty token")
	}
	body := map[string]any{"token": token}
	s, err := t.c.secret(ctx, request{method: http.MethodPost, path: "auth/token/lookup", body: body})
	if err != nil {
		return nil, fmt.Errorf("token lookup: %w", err)
	}
	return s, nil
}

// LookupSelf describes the client's own token (GET auth/token/lookup-self).
func (t *TokenAuth) LookupSelf(ctx context.Context) (*Secret, error) {
	s, err := t.c.secret(ctx, request{method: http.MethodGet, path: "auth/token/lookup-self"})
	if err != nil {
		return nil, fmt.Errorf("token lookup-self: %w", err)
	}
	return s, nil
}

// Revoke revokes token and its children (PUT auth/token/revoke).
func (t *TokenAuth) Revoke(ctx context.Context, token string) error {
	if token == "" {
		return invalidArg("empty token")
	}
	body := map[string]any{"token": token}
	if err := t.c.send(ctx, request{method: http.MethodPut, path: "auth/token/revoke", body: body}); err != nil {
		return fmt.Errorf("token revoke: %w", err)
	}
	return nil
}

// Renew extends token's lease by increment from now (POST
// auth/token/renew; 0 asks for the token's default TTL). The answer's
// Auth.LeaseDuration is the TTL granted, which the token's max TTL may
// cap.
func (t *TokenAuth) Renew(ctx context.Context, token string, increment time.Duration) (*Secret, error) {
	if token == "" {
		return nil, invalidArg("empty token")
	}
	return t.renew(ctx, "auth/token/renew", map[string]any{"token": token}, increment)
}

// RenewSelf extends the client's own token (POST auth/token/renew-self).
func (t *TokenAuth) RenewSelf(ctx context.Context, increment time.Duration) (*Secret, error) {
	return t.renew(ctx, "auth/token/renew-self", map[string]any{}, increment)
}

func (t *TokenAuth) renew(ctx context.Context, path string, body map[string]any, increment time.Duration) (*Secret, error) {
	if increment < 0 || increment > 0 && increment < time.Second {
		return nil, invalidArg("renew increment %s: want 0 or at least 1s", increment)
	}
	if increment > 0 {
		body["increment"] = int64(increment / time.Second)
	}
	s, err := t.c.secret(ctx, request{method: http.MethodPost, path: path, body: body})
	if err == nil && (s == nil || s.Auth == nil) {
		err = fmt.Errorf("client: answer carries no auth block")
	}
	if err != nil {
		return nil, fmt.Errorf("token renew: %w", err)
	}
	return s, nil
}
