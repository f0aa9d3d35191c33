package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// Answers in the shape Vault gives them.
const (
	leaseLookupReply = `{"request_id":"r1","lease_id":"","renewable":false,"lease_duration":0,"data":{` +
		`"expire_time":"2026-12-01T16:00:00.123456789Z","id":"database/creds/readonly/2f6a","issue_time":"2026-12-01T15:00:00.5Z",` +
		`"last_renewal":null,"renewable":true,"ttl":3599},"wrap_info":null,"warnings":null,"auth":null}`
	leaseRenewReply = `{"request_id":"r2","lease_id":"database/creds/readonly/2f6a","renewable":true,"lease_duration":7200,` +
		`"data":null,"wrap_info":null,"warnings":["TTL of \"3h\" exceeded the effective max_ttl of \"2h\"; TTL value is capped accordingly"],"auth":null}`
	leaseTidyReply = `{"request_id":"r3","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,` +
		`"warnings":["Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs."],"auth":null}`
)

func TestLeaseShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	expire := time.Date(2026, 12, 1, 16, 0, 0, 123456789, time.UTC)
	renewed := time.Date(2026, 12, 1, 15, 30, 0, 0, time.UTC)
	runShapes(t, []shapeCase{
		{
			name: "lookup", status: 200, reply: leaseLookupReply,
			call: func(c *client.Client) (any, error) {
				l, err := c.Sys().LookupLease(ctx, " database/creds/readonly/2f6a\n")
				if err != nil {
					return nil, err
				}
				return []any{l.ID, l.IssueTime.Equal(time.Date(2026, 12, 1, 15, 0, 0, 5e8, time.UTC)), l.ExpireTime.Equal(expire),
					l.LastRenewal == nil, l.Renewable, l.TTL, l.Irrevocable, l.LastError}, nil
			},
			method: "PUT", path: "/v1/sys/leases/lookup", req: `{"lease_id":"database/creds/readonly/2f6a"}`,
			want: []any{"database/creds/readonly/2f6a", true, true, true, true, 3599, false, ""},
		},
		{
			name: "lookup of an irrevocable lease", status: 200,
			reply: `{"data":{"id":"db/creds/x/1","issue_time":"2026-12-01T15:00:00Z","expire_time":null,"last_renewal":"2026-12-01T15:30:00Z",` +
				`"renewable":false,"ttl":0,"irrevocable":true,"last_error":"connection refused"}}`,
			call: func(c *client.Client) (any, error) {
				l, err := c.Sys().LookupLease(ctx, "db/creds/x/1")
				if err != nil {
					return nil, err
				}
				return []any{l.ExpireTime == nil, l.LastRenewal.Equal(renewed), l.Irrevocable, l.LastError}, nil
			},
			method: "PUT", path: "/v1/sys/leases/lookup", req: `{"lease_id":"db/creds/x/1"}`,
			want: []any{true, true, true, "connection refused"},
		},
		{
			name: "list", status: 200, reply: `{"data":{"keys":["2f6a","9b1c","sub/"]}}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().ListLeases(ctx, "/database/creds/readonly") },
			method: "LIST", path: "/v1/sys/leases/lookup/database/creds/readonly/", want: []string{"2f6a", "9b1c", "sub/"},
		},
		{
			name: "list the top level", status: 200, reply: `{"data":{"keys":["database/"]}}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().ListLeases(ctx, "") },
			method: "LIST", path: "/v1/sys/leases/lookup/", want: []string{"database/"},
		},
		{
			name: "list nothing", status: 404, reply: `{"errors":[]}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().ListLeases(ctx, "database/") },
			method: "LIST", path: "/v1/sys/leases/lookup/database/", want: []string{},
		},
		{
			name: "renew", status: 200, reply: leaseRenewReply,
			call: func(c *client.Client) (any, error) {
				return c.Sys().RenewLease(ctx, "database/creds/readonly/2f6a", 3*time.Hour+500*time.Millisecond)
			},
			method: "PUT", path: "/v1/sys/leases/renew", req: `{"lease_id":"database/creds/readonly/2f6a","increment":10800}`,
			want: &client.LeaseRenewal{LeaseID: "database/creds/readonly/2f6a", LeaseDuration: 7200, Renewable: true,
				Warnings: []string{`TTL of "3h" exceeded the effective max_ttl of "2h"; TTL value is capped accordingly`}},
		},
		{
			name: "renew with the default increment", status: 200,
			reply:  `{"lease_id":"db/creds/x/1","renewable":false,"lease_duration":60}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().RenewLease(ctx, "db/creds/x/1", 0) },
			method: "PUT", path: "/v1/sys/leases/renew", req: `{"lease_id":"db/creds/x/1","increment":0}`,
			want: &client.LeaseRenewal{LeaseID: "db/creds/x/1", LeaseDuration: 60},
		},
		{
			name: "revoke", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().RevokeLease(ctx, "db/creds/x/1") },
			method: "PUT", path: "/v1/sys/leases/revoke", req: `{"lease_id":"db/creds/x/1"}`,
		},
		{
			name: "revoke async", status: 204,
			call: func(c *client.Client) (any, error) {
				return nil, c.Sys().RevokeLease(ctx, "db/creds/x/1", client.WithRevokeSync(false))
			},
			method: "PUT", path: "/v1/sys/leases/revoke", req: `{"lease_id":"db/creds/x/1","sync":false}`,
		},
		{
			name: "revoke prefix", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().RevokePrefix(ctx, "/aws/creds/deploy") },
			method: "PUT", path: "/v1/sys/leases/revoke-prefix/aws/creds/deploy",
		},
		{
			name: "revoke prefix sync keeps the trailing slash", status: 204,
			call: func(c *client.Client) (any, error) {
				return nil, c.Sys().RevokePrefix(ctx, "aws/creds/", client.WithRevokeSync(true))
			},
			method: "PUT", path: "/v1/sys/leases/revoke-prefix/aws/creds/", req: `{"sync":true}`,
		},
		{
			name: "revoke force", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().RevokeForce(ctx, "consul/creds") },
			method: "PUT", path: "/v1/sys/leases/revoke-force/consul/creds",
		},
		{
			name: "tidy answers 202 with a warning (Vault)", status: 202, reply: leaseTidyReply,
			call:   func(c *client.Client) (any, error) { return c.Sys().TidyLeases(ctx) },
			method: "PUT", path: "/v1/sys/leases/tidy",
			want: &client.LeaseTidy{Warnings: []string{"Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs."}},
		},
		{
			name: "tidy answers with a count", status: 200, reply: `{"request_id":"r","data":{"removed":3},"warnings":null}`,
			call: func(c *client.Client) (any, error) {
				r, err := c.Sys().TidyLeases(ctx)
				if err != nil || r.Removed == nil {
					return nil, err
				}
				return []any{*r.Removed, r.Warnings}, nil
			},
			method: "PUT", path: "/v1/sys/leases/tidy", want: []any{3, []string(nil)},
		},
		{
			name: "tidy answers 204", status: 204,
			call:   func(c *client.Client) (any, error) { return c.Sys().TidyLeases(ctx) },
			method: "PUT", path: "/v1/sys/leases/tidy", want: &client.LeaseTidy{},
		},
	})
}

func TestLeaseQuotaShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	runShapes(t, []shapeCase{
		{
			name: "set", status: 204,
			call: func(c *client.Client) (any, error) {
				return nil, c.Sys().SetLeaseQuota(ctx, "db-cap", &client.LeaseQuotaInput{Path: "/database/", MaxLeases: 100})
			},
			method: "PUT", path: "/v1/sys/quotas/lease-count/db-cap", req: `{"path":"database","max_leases":100}`,
		},
		{
			name: "set global", status: 204,
			call: func(c *client.Client) (any, error) {
				return nil, c.Sys().SetLeaseQuota(ctx, "global", &client.LeaseQuotaInput{MaxLeases: 5000})
			},
			method: "PUT", path: "/v1/sys/quotas/lease-count/global", req: `{"path":"","max_leases":5000}`,
		},
		{
			name: "get", status: 200,
			reply:  `{"request_id":"r","data":{"counter":7,"inheritable":false,"max_leases":100,"name":"db-cap","path":"database/","role":"","type":"lease-count"}}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().GetLeaseQuota(ctx, "db-cap") },
			method: "GET", path: "/v1/sys/quotas/lease-count/db-cap",
			want: &client.LeaseQuota{Name: "db-cap", Path: "database/", Type: "lease-count", MaxLeases: 100, Counter: 7},
		},
		{
			name: "delete", status: 204,
			call:   func(c *client.Client) (any, error) { return nil, c.Sys().DeleteLeaseQuota(ctx, "db-cap") },
			method: "DELETE", path: "/v1/sys/quotas/lease-count/db-cap",
		},
		{
			name: "list", status: 200, reply: `{"data":{"keys":["db-cap","global"]}}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().ListLeaseQuotas(ctx) },
			method: "LIST", path: "/v1/sys/quotas/lease-count", want: []string{"db-cap", "global"},
		},
		{
			name: "list none", status: 404, reply: `{"errors":[]}`,
			call:   func(c *client.Client) (any, error) { return c.Sys().ListLeaseQuotas(ctx) },
			method: "LIST", path: "/v1/sys/quotas/lease-count", want: []string{},
		},
	})
}

// TestLeasePrefixEscaped checks that a prefix is sent segment by segment,
// escaped, so that "?" or "%" in it cannot change the request.
func TestLeasePrefixEscaped(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, 204, "")
	if err := f.client(t).Sys().RevokePrefix(context.Background(), "kv/a b?x=1%"); err != nil {
		t.Fatal(err)
	}
	r := f.last(t)
	if r.RawPath != "/v1/sys/leases/revoke-prefix/kv/a%20b%3Fx=1%25" || r.Query != "" {
		t.Errorf("raw path = %q, query %q", r.RawPath, r.Query)
	}
}

func TestLeaseErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		status int
		reply  string
		call   func(*client.Sys) error
		target error
		sent   bool
	}{
		{"lookup without id", 200, leaseLookupReply,
			func(s *client.Sys) error { _, err := s.LookupLease(ctx, " "); return err }, client.ErrInvalidArgument, false},
		{"lookup of an unknown lease", 400, `{"errors":["invalid lease"]}`,
			func(s *client.Sys) error { _, err := s.LookupLease(ctx, "db/creds/x/1"); return err }, client.ErrInvalidRequest, true},
		{"lookup answer without id", 200, `{"data":{"ttl":3}}`,
			func(s *client.Sys) error { _, err := s.LookupLease(ctx, "db/creds/x/1"); return err }, nil, true},
		{"lookup answer without data", 204, "",
			func(s *client.Sys) error { _, err := s.LookupLease(ctx, "db/creds/x/1"); return err }, nil, true},
		{"list forbidden", 403, `{"errors":["permission denied"]}`,
			func(s *client.Sys) error { _, err := s.ListLeases(ctx, "db"); return err }, client.ErrPermissionDenied, true},
		{"renew negative", 200, leaseRenewReply,
			func(s *client.Sys) error { _, err := s.RenewLease(ctx, "db/creds/x/1", -time.Second); return err }, client.ErrInvalidArgument, false},
		{"renew sub-second", 200, leaseRenewReply,
			func(s *client.Sys) error { _, err := s.RenewLease(ctx, "db/creds/x/1", time.Millisecond); return err }, client.ErrInvalidArgument, false},
		{"renew without id", 200, leaseRenewReply,
			func(s *client.Sys) error { _, err := s.RenewLease(ctx, "", time.Hour); return err }, client.ErrInvalidArgument, false},
		{"renew answer without lease", 204, "",
			func(s *client.Sys) error { _, err := s.RenewLease(ctx, "db/creds/x/1", time.Hour); return err }, nil, true},
		{"renew refused", 400, `{"errors":["lease is not renewable"]}`,
			func(s *client.Sys) error { _, err := s.RenewLease(ctx, "db/creds/x/1", time.Hour); return err }, client.ErrInvalidRequest, true},
		{"revoke without id", 204, "", func(s *client.Sys) error { return s.RevokeLease(ctx, "\t") }, client.ErrInvalidArgument, false},
		{"revoke prefix empty", 204, "", func(s *client.Sys) error { return s.RevokePrefix(ctx, "") }, client.ErrInvalidArgument, false},
		{"revoke prefix slashes", 204, "", func(s *client.Sys) error { return s.RevokePrefix(ctx, "//") }, client.ErrInvalidArgument, false},
		{"revoke prefix dot-dot", 204, "", func(s *client.Sys) error { return s.RevokePrefix(ctx, "db/../sys") }, client.ErrInvalidArgument, false},
		{"revoke force empty", 204, "", func(s *client.Sys) error { return s.RevokeForce(ctx, " / ") }, client.ErrInvalidArgument, false},
		{"revoke force failed", 500, `{"errors":["storage down"]}`,
			func(s *client.Sys) error { return s.RevokeForce(ctx, "db") }, nil, true},
		{"tidy count not a number", 200, `{"data":{"removed":"three"}}`,
			func(s *client.Sys) error { _, err := s.TidyLeases(ctx); return err }, nil, true},
		{"lookup of an unknown lease (SecretumVault)", 404, `{"errors":["expiration: lease db/creds/x/1: not found"]}`,
			func(s *client.Sys) error { _, err := s.LookupLease(ctx, "db/creds/x/1"); return err }, client.ErrNotFound, true},
		{"tidy forbidden", 403, `{"errors":["permission denied"]}`,
			func(s *client.Sys) error { _, err := s.TidyLeases(ctx); return err }, client.ErrPermissionDenied, true},
		{"quota without max", 204, "",
			func(s *client.Sys) error { return s.SetLeaseQuota(ctx, "q", &client.LeaseQuotaInput{Path: "db"}) }, client.ErrInvalidArgument, false},
		{"quota nil input", 204, "", func(s *client.Sys) error { return s.SetLeaseQuota(ctx, "q", nil) }, client.ErrInvalidArgument, false},
		{"quota name with slash", 204, "",
			func(s *client.Sys) error { _, err := s.GetLeaseQuota(ctx, "a/b"); return err }, client.ErrInvalidArgument, false},
		{"quota delete empty name", 204, "", func(s *client.Sys) error { return s.DeleteLeaseQuota(ctx, "") }, client.ErrInvalidArgument, false},
		{"quota missing", 404, `{"errors":[]}`,
			func(s *client.Sys) error { _, err := s.GetLeaseQuota(ctx, "nope"); return err }, client.ErrNotFound, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, tt.status, tt.reply)
			err := tt.call(f.client(t).Sys())
			if err == nil || tt.target != nil && !errors.Is(err, tt.target) {
				t.Fatalf("err = %v, want %v", err, tt.target)
			}
			if strings.Contains(err.Error(), "s.testtoken") {
				t.Errorf("error quotes the token: %v", err)
			}
			f.mu.Lock()
			sent := len(f.reqs) > 0
			f.mu.Unlock()
			if sent != tt.sent {
				t.Errorf("request sent = %v, want %v", sent, tt.sent)
			}
		})
	}
}

func ExampleSys_RenewLease() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	// The lease ID is the LeaseID of the answer that issued the secret.
	sec, err := c.Read(ctx, "database/creds/readonly", nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := c.Sys().RenewLease(ctx, sec.LeaseID, time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	// The server may grant less than asked: max_ttl caps every lease.
	fmt.Println("valid for another", time.Duration(r.LeaseDuration)*time.Second)
	// Done with the credentials: revoke them now rather than at expiry.
	if err := c.Sys().RevokeLease(ctx, sec.LeaseID, client.WithRevokeSync(true)); err != nil {
		log.Fatal(err)
	}
}
