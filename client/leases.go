package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Lease describes one lease, the answer of PUT sys/leases/lookup (Vault's
// data object, plus SecretumVault's irrevocable and last_error).
type Lease struct {
	// ID is the lease ID, e.g. "database/creds/readonly/2f6a614c...".
	ID string `json:"id"`
	// IssueTime is when the lease was created.
	IssueTime time.Time `json:"issue_time"`
	// ExpireTime is when the lease ends; nil when it never expires.
	ExpireTime *time.Time `json:"expire_time"`
	// LastRenewal is the time of the last renewal; nil when never renewed.
	LastRenewal *time.Time `json:"last_renewal"`
	// Renewable says whether sys/leases/renew may extend the lease.
	Renewable bool `json:"renewable"`
	// TTL is the time left, in seconds.
	TTL int `json:"ttl"`
	// Irrevocable: revocation failed and the server stopped retrying; only
	// RevokeForce removes the lease.
	Irrevocable bool `json:"irrevocable,omitempty"`
	// LastError is the error of the last failed revocation, if any.
	LastError string `json:"last_error,omitempty"`
}

// LeaseRenewal is the answer of PUT sys/leases/renew: the lease's new
// duration, which the server may have capped below the increment asked.
type LeaseRenewal struct {
	// LeaseID is the renewed lease.
	LeaseID string `json:"lease_id"`
	// LeaseDuration is the time left after the renewal, in seconds.
	LeaseDuration int `json:"lease_duration"`
	// Renewable says whether the lease may be renewed again.
	Renewable bool `json:"renewable"`
	// Warnings are the server's remarks, e.g. that max_ttl capped the
	// increment.
	Warnings []string `json:"warnings,omitempty"`
}

// LeaseTidy is the answer of PUT sys/leases/tidy.
type LeaseTidy struct {
	// Removed is how many entries the server removed; nil when it does
	// not say (Vault tidies in the background).
	Removed *int `json:"removed,omitempty"`
	// Warnings are the server's remarks, e.g. Vault's "Tidy operation
	// successfully started".
	Warnings []string `json:"warnings,omitempty"`
}

// LeaseQuotaInput is the body of PUT sys/quotas/lease-count/:name.
type LeaseQuotaInput struct {
	// Path is the mount (or path under a mount) the quota applies to; ""
	// is a global quota.
	Path string `json:"path"`
	// MaxLeases is the number of leases allowed at once; it must be > 0.
	MaxLeases int `json:"max_leases"`
}

// LeaseQuota is a lease-count quota as GET sys/quotas/lease-count/:name
// answers it.
type LeaseQuota struct {
	Name string `json:"name"`
	// Path is the mount or path the quota applies to; "" is global.
	Path string `json:"path"`
	// Type is "lease-count".
	Type string `json:"type"`
	// MaxLeases is the limit, Counter the leases counted now.
	MaxLeases int `json:"max_leases"`
	Counter   int `json:"counter"`
}

// RevokeOption adjusts RevokeLease and RevokePrefix.
type RevokeOption func(*revokeOptions)

type revokeOptions struct{ sync *bool }

// WithRevokeSync sends "sync": sync. With true the call returns once the
// secrets are revoked (and fails if that fails: retrying is up to the
// caller); with false the server queues the revocation and keeps retrying
// it, across restarts. Without this option the server's default applies:
// synchronous, as in Vault. SecretumVault always revokes synchronously
// and accepts the parameter for compatibility.
func WithRevokeSync(sync bool) RevokeOption {
	return func(o *revokeOptions) { o.sync = &sync }
}

// LookupLease describes the lease id (PUT sys/leases/lookup). An unknown
// lease is a *ResponseError: SecretumVault answers 404 (ErrNotFound),
// Vault 400 "invalid lease" (ErrInvalidRequest).
func (s *Sys) LookupLease(ctx context.Context, id string) (*Lease, error) {
	id, err := leaseID(id)
	if err != nil {
		return nil, err
	}
	var out Lease
	body := map[string]any{"lease_id": id}
	if err := s.c.data(ctx, request{method: http.MethodPut, path: "sys/leases/lookup", body: body}, &out); err != nil {
		return nil, fmt.Errorf("look up lease %s: %w", id, err)
	}
	if out.ID == "" {
		return nil, fmt.Errorf("look up lease %s: the answer carries no lease id", id)
	}
	return &out, nil
}

// ListLeases returns the keys under prefix in the lease tree (LIST
// sys/leases/lookup/:prefix): lease ID suffixes, and folders ending in
// "/". prefix "" lists the top level. None is an empty slice, not an error.
func (s *Sys) ListLeases(ctx context.Context, prefix string) ([]string, error) {
	prefix = strings.Trim(prefix, "/")
	path := "sys/leases/lookup/"
	if prefix != "" {
		path += prefix + "/"
	}
	sec, err := s.c.List(ctx, path)
	if errors.Is(err, ErrNotFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list leases under %q: %w", prefix, err)
	}
	keys := sec.Keys()
	if keys == nil {
		keys = []string{}
	}
	return keys, nil
}

// RenewLease asks to extend the lease id by increment from now (PUT
// sys/leases/renew). increment is sent in whole seconds (rounded down); 0
// asks for the lease's default TTL, and a negative or sub-second increment
// is refused. The server may grant less than asked; the answer says what.
func (s *Sys) RenewLease(ctx context.Context, id string, increment time.Duration) (*LeaseRenewal, error) {
	id, err := leaseID(id)
	if err != nil {
		return nil, err
	}
	if increment < 0 || increment > 0 && increment < time.Second {
		return nil, invalidArg("renew increment %s: want 0 or at least 1s", increment)
	}
	body := map[string]any{"lease_id": id, "increment": int64(increment / time.Second)}
	sec, err := s.c.secret(ctx, request{method: http.MethodPut, path: "sys/leases/renew", body: body})
	if err == nil && (sec == nil || sec.LeaseID == "") {
		err = fmt.Errorf("client: the answer carries no lease_id")
	}
	if err != nil {
		return nil, fmt.Errorf("renew lease %s: %w", id, err)
	}
	return &LeaseRenewal{LeaseID: sec.LeaseID, LeaseDuration: sec.LeaseDuration, Renewable: sec.Renewable, Warnings: sec.Warnings}, nil
}

// RevokeLease revokes the lease id and its secret (PUT sys/leases/revoke).
// An unknown lease is not an error, as in Vault.
func (s *Sys) RevokeLease(ctx context.Context, id string, opts ...RevokeOption) error {
	id, err := leaseID(id)
	if err != nil {
		return err
	}
	body := revokeBody(opts)
	body["lease_id"] = id
	if err := s.c.send(ctx, request{method: http.MethodPut, path: "sys/leases/revoke", body: body}); err != nil {
		return fmt.Errorf("revoke lease %s: %w", id, err)
	}
	return nil
}

// RevokePrefix revokes every lease whose ID starts with prefix, e.g.
// "database/creds/readonly" (PUT sys/leases/revoke-prefix/:prefix). An
// empty prefix is refused: it would revoke everything.
func (s *Sys) RevokePrefix(ctx context.Context, prefix string, opts ...RevokeOption) error {
	prefix, err := leasePrefix(prefix)
	if err != nil {
		return err
	}
	req := request{method: http.MethodPut, path: "sys/leases/revoke-prefix/" + prefix}
	if body := revokeBody(opts); len(body) > 0 {
		req.body = body
	}
	if err := s.c.send(ctx, req); err != nil {
		return fmt.Errorf("revoke leases with prefix %s: %w", prefix, err)
	}
	return nil
}

// RevokeForce removes every lease under prefix from the server even when
// the engine fails to revoke its secret (PUT
// sys/leases/revoke-force/:prefix). It is for recovery, when the secrets
// were removed by hand: the server may otherwise forget secrets that
// still exist. It is always synchronous; an empty prefix is refused.
func (s *Sys) RevokeForce(ctx context.Context, prefix string) error {
	prefix, err := leasePrefix(prefix)
	if err != nil {
		return err
	}
	if err := s.c.send(ctx, request{method: http.MethodPut, path: "sys/leases/revoke-force/" + prefix}); err != nil {
		return fmt.Errorf("force revoke leases with prefix %s: %w", prefix, err)
	}
	return nil
}

// TidyLeases cleans up the lease store (PUT sys/leases/tidy): entries
// that no longer describe a lease. SecretumVault tidies before it answers
// and says how many entries it removed; Vault starts the work in the
// background and answers 202 at once, with a warning and no count.
func (s *Sys) TidyLeases(ctx context.Context) (*LeaseTidy, error) {
	sec, err := s.c.secret(ctx, request{method: http.MethodPut, path: "sys/leases/tidy"})
	if err != nil {
		return nil, fmt.Errorf("tidy leases: %w", err)
	}
	out := &LeaseTidy{}
	if sec == nil {
		return out, nil
	}
	out.Warnings = sec.Warnings
	if sec.Data != nil {
		var d struct {
			Removed *int `json:"removed"`
		}
		if err := sec.decodeData(&d); err != nil {
			return nil, fmt.Errorf("tidy leases: %w", err)
		}
		out.Removed = d.Removed
	}
	return out, nil
}

// SetLeaseQuota creates or replaces the lease-count quota name (PUT
// sys/quotas/lease-count/:name).
func (s *Sys) SetLeaseQuota(ctx context.Context, name string, in *LeaseQuotaInput) error {
	if err := checkQuotaName(name); err != nil {
		return err
	}
	if in == nil || in.MaxLeases <= 0 {
		return invalidArg("lease quota %s needs max_leases > 0", name)
	}
	body := *in
	body.Path = strings.Trim(body.Path, "/")
	if err := s.c.send(ctx, request{method: http.MethodPut, path: "sys/quotas/lease-count/" + name, body: &body}); err != nil {
		return fmt.Errorf("write lease quota %s: %w", name, err)
	}
	return nil
}

// GetLeaseQuota returns the lease-count quota name (GET
// sys/quotas/lease-count/:name); a missing quota matches ErrNotFound.
func (s *Sys) GetLeaseQuota(ctx context.Context, name string) (*LeaseQuota, error) {
	if err := checkQuotaName(name); err != nil {
		return nil, err
	}
	var out LeaseQuota
	if err := s.c.data(ctx, request{method: http.MethodGet, path: "sys/quotas/lease-count/" + name}, &out); err != nil {
		return nil, fmt.Errorf("read lease quota %s: %w", name, err)
	}
	if out.Name == "" {
		out.Name = name
	}
	return &out, nil
}

// DeleteLeaseQuota deletes the lease-count quota name (DELETE
// sys/quotas/lease-count/:name).
func (s *Sys) DeleteLeaseQuota(ctx context.Context, name string) error {
	if err := checkQuotaName(name); err != nil {
		return err
	}
	if err := s.c.send(ctx, request{method: http.MethodDelete, path: "sys/quotas/lease-count/" + name}); err != nil {
		return fmt.Errorf("delete lease quota %s: %w", name, err)
	}
	return nil
}

// ListLeaseQuotas returns the names of the lease-count quotas (LIST
// sys/quotas/lease-count); none is an empty slice, not an error.
func (s *Sys) ListLeaseQuotas(ctx context.Context) ([]string, error) {
	sec, err := s.c.List(ctx, "sys/quotas/lease-count")
	if errors.Is(err, ErrNotFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list lease quotas: %w", err)
	}
	keys := sec.Keys()
	if keys == nil {
		keys = []string{}
	}
	return keys, nil
}

// revokeBody is the body of the revoke options ({"sync": ...} or empty).
func revokeBody(opts []RevokeOption) map[string]any {
	var o revokeOptions
	for _, opt := range opts {
		opt(&o)
	}
	body := map[string]any{}
	if o.sync != nil {
		body["sync"] = *o.sync
	}
	return body
}

// leaseID trims a lease ID and refuses an empty one.
func leaseID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", invalidArg("lease id is empty")
	}
	return id, nil
}

// leasePrefix trims a lease prefix of spaces and leading slashes and
// refuses an empty one. A trailing slash is sent as given: Vault reads
// "a/b" as the lease "a/b" if there is one, else as the folder "a/b/".
func leasePrefix(prefix string) (string, error) {
	prefix = strings.TrimLeft(strings.TrimSpace(prefix), "/")
	if strings.Trim(prefix, "/") == "" {
		return "", invalidArg("lease prefix is empty")
	}
	return prefix, nil
}

// checkQuotaName refuses names that would not address one quota.
func checkQuotaName(name string) error {
	if name == "" || strings.TrimSpace(name) != name || strings.ContainsAny(name, "/?#") || name == "." || name == ".." {
		return invalidArg("quota name %q must be non-empty, without spaces around it, /, ? or #, and not . or ..", name)
	}
	return nil
}
