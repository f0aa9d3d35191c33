package client

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"time"
)

// This file groups existing helpers under the names of the SDK's
// overview (Leases, Auth, Policies); each method is a thin alias.

// Leases groups the sys/leases endpoints.
type Leases struct{ s *Sys }

// Leases returns the lease helpers.
func (c *Client) Leases() *Leases { return &Leases{s: c.Sys()} }

// Lookup describes the lease id (Sys.LookupLease).
func (l *Leases) Lookup(ctx context.Context, id string) (*Lease, error) {
	return l.s.LookupLease(ctx, id)
}

// List returns the keys under prefix in the lease tree (Sys.ListLeases).
func (l *Leases) List(ctx context.Context, prefix string) ([]string, error) {
	return l.s.ListLeases(ctx, prefix)
}

// Renew extends the lease id by increment (Sys.RenewLease).
func (l *Leases) Renew(ctx context.Context, id string, increment time.Duration) (*LeaseRenewal, error) {
	return l.s.RenewLease(ctx, id, increment)
}

// Revoke revokes the lease id (Sys.RevokeLease).
func (l *Leases) Revoke(ctx context.Context, id string, opts ...RevokeOption) error {
	return l.s.RevokeLease(ctx, id, opts...)
}

// RevokePrefix revokes every lease under prefix (Sys.RevokePrefix).
func (l *Leases) RevokePrefix(ctx context.Context, prefix string, opts ...RevokeOption) error {
	return l.s.RevokePrefix(ctx, prefix, opts...)
}

// Auth groups the logins of the auth methods. Each returns the answer
// whose Auth.ClientToken is the new token; the client's own token is left
// unchanged.
type Auth struct{ c *Client }

// Auth returns the login helpers.
func (c *Client) Auth() *Auth { return &Auth{c: c} }

// Token returns the auth/token/ helpers (Client.Token).
func (a *Auth) Token() *TokenAuth { return a.c.Token() }

// AppRole logs in with roleID and secretID (Client.LoginAppRole).
func (a *Auth) AppRole(ctx context.Context, mount, roleID, secretID string) (*Secret, error) {
	return a.c.LoginAppRole(ctx, mount, roleID, secretID)
}

// UserPass logs in as username (Client.LoginUserpass).
func (a *Auth) UserPass(ctx context.Context, mount, username, password string) (*Secret, error) {
	return a.c.LoginUserpass(ctx, mount, username, password)
}

// Keypair logs in as the key registered under name and returns the new
// token (Client.KeypairLogin).
func (a *Auth) Keypair(ctx context.Context, mount, name string, key ed25519.PrivateKey) (string, error) {
	return a.c.KeypairLogin(ctx, mount, name, key)
}

// Cert logs in with the connection's TLS client certificate
// (Client.LoginCert).
func (a *Auth) Cert(ctx context.Context, mount, name string) (*Secret, error) {
	return a.c.LoginCert(ctx, mount, name)
}

// JWT logs in with a signed JWT as role (Client.LoginJWT).
func (a *Auth) JWT(ctx context.Context, mount, role, jwt string) (*Secret, error) {
	return a.c.LoginJWT(ctx, mount, role, jwt)
}

// Policies groups the policy endpoints.
type Policies struct{ s *Sys }

// Policies returns the policy helpers.
func (c *Client) Policies() *Policies { return &Policies{s: c.Sys()} }

// PolicyStore is the policies of one kind (Cedar or ACL).
type PolicyStore struct {
	s    *Sys
	kind string
}

// Cedar returns the Cedar policies (sys/policies/cedar).
func (p *Policies) Cedar() *PolicyStore { return &PolicyStore{s: p.s, kind: PolicyCedar} }

// ACL returns the Vault HCL ACL policies (sys/policies/acl).
func (p *Policies) ACL() *PolicyStore { return &PolicyStore{s: p.s, kind: PolicyACL} }

// Explain says why a request would be allowed or denied (Sys.Explain).
func (p *Policies) Explain(ctx context.Context, req *ExplainRequest) (*Explanation, error) {
	return p.s.Explain(ctx, req)
}

// Put creates or replaces the policy name (Sys.PutCedarPolicy or
// Sys.PutACLPolicy).
func (ps *PolicyStore) Put(ctx context.Context, name, text string) error {
	if ps.kind == PolicyCedar {
		return ps.s.PutCedarPolicy(ctx, name, text)
	}
	return ps.s.PutACLPolicy(ctx, name, text)
}

// Get returns the text of the policy name.
func (ps *PolicyStore) Get(ctx context.Context, name string) (string, error) {
	if ps.kind == PolicyCedar {
		p, err := ps.s.GetCedarPolicy(ctx, name)
		if err != nil {
			return "", err
		}
		return p.Policy, nil
	}
	p, err := ps.s.GetACLPolicy(ctx, name)
	if err != nil {
		return "", err
	}
	return p.Policy, nil
}

// Delete deletes the policy name.
func (ps *PolicyStore) Delete(ctx context.Context, name string) error {
	if ps.kind == PolicyCedar {
		return ps.s.DeleteCedarPolicy(ctx, name)
	}
	return ps.s.DeleteACLPolicy(ctx, name)
}

// List returns the policy names; none is an empty slice.
func (ps *PolicyStore) List(ctx context.Context) ([]string, error) {
	if ps.kind == PolicyCedar {
		return ps.s.ListCedarPolicies(ctx)
	}
	return ps.s.ListACLPolicies(ctx)
}

// Check returns the secrets of sys/rotation/status whose state is not
// "ok" (warn, overdue, quarantined): what `vaultctl rotation check`
// fails on. None is an empty slice.
func (r *Rotation) Check(ctx context.Context) ([]SecretRotationStatus, error) {
	st, err := r.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("rotation check: %w", err)
	}
	bad := []SecretRotationStatus{}
	for _, s := range st.Secrets {
		if s.State != "ok" {
			bad = append(bad, s)
		}
	}
	return bad, nil
}

// LeaderResponse is the answer of sys/leader.
type LeaderResponse struct {
	HAEnabled            bool   `json:"ha_enabled"`
	IsSelf               bool   `json:"is_self"`
	ActiveTime           string `json:"active_time"`
	LeaderAddress        string `json:"leader_address"`
	LeaderClusterAddress string `json:"leader_cluster_address"`
	PerformanceStandby   bool   `json:"performance_standby"`
}

// Leader returns which node is active (GET sys/leader).
func (s *Sys) Leader(ctx context.Context) (*LeaderResponse, error) {
	var out LeaderResponse
	if err := s.c.raw(ctx, request{method: http.MethodGet, path: "sys/leader"}, &out); err != nil {
		return nil, fmt.Errorf("leader: %w", err)
	}
	return &out, nil
}

// Rekey starts a rekey: an alias of RekeyInit.
func (s *Sys) Rekey(ctx context.Context, req *RekeyInitRequest, opts ...RekeyOption) (*RekeyStatus, error) {
	return s.RekeyInit(ctx, req, opts...)
}

// GenerateRoot starts a root token generation: an alias of
// GenerateRootInit.
func (s *Sys) GenerateRoot(ctx context.Context, otp string) (*GenerateRootStatus, error) {
	return s.GenerateRootInit(ctx, otp)
}
