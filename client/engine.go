package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Lease-bearing answers share these fields.

// LeaseInfo is the lease of a dynamic secret as its answer describes it.
type LeaseInfo struct {
	// LeaseID names the lease for Leases().Renew and Revoke.
	LeaseID string
	// LeaseDuration is the time left on the lease.
	LeaseDuration time.Duration
	// Renewable says whether the lease may be renewed.
	Renewable bool
}

func leaseOf(s *Secret) LeaseInfo {
	return LeaseInfo{LeaseID: s.LeaseID, LeaseDuration: time.Duration(s.LeaseDuration) * time.Second, Renewable: s.Renewable}
}

// mountPath is an engine mounted at one path; helpers of each engine
// embed it.
type mountPath struct {
	c     *Client
	mount string
}

// Mount returns the mount path the helpers use.
func (m mountPath) Mount() string { return m.mount }

// sub is mount/<kind>/<name> with name checked to be one segment.
func (m mountPath) sub(kind, what, name string) (string, error) {
	if name == "" || strings.Contains(name, "/") || name == "." || name == ".." {
		return "", invalidArg("%s: invalid name %q", what, name)
	}
	return m.mount + "/" + kind + "/" + url.PathEscape(name), nil
}

// call sends req and decodes the envelope's data into out; the
// envelope itself is returned for its lease.
func (m mountPath) call(ctx context.Context, what string, req request, out any) (*Secret, error) {
	s, err := m.c.secret(ctx, req)
	if err == nil && (s == nil || s.Data == nil) {
		err = fmt.Errorf("client: the answer carries no data")
	}
	if err == nil && out != nil {
		err = s.decodeData(out)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return s, nil
}

// Database is a database secrets engine mounted at one path.
type Database struct{ mountPath }

// Database returns the helpers for the database engine at mount, e.g.
// "database".
func (c *Client) Database(mount string) *Database {
	return &Database{mountPath{c: c, mount: strings.Trim(mount, "/")}}
}

// DatabaseCreds is a dynamic database user (GET mount/creds/:role),
// valid for its lease: renew it with Leases().Renew or a
// LifetimeWatcher, revoke it with Leases().Revoke.
type DatabaseCreds struct {
	Username string `json:"username"`
	Password string `json:"password"`
	LeaseInfo
	// Raw is the whole response envelope.
	Raw *Secret `json:"-"`
}

// Creds creates a database user of role (GET mount/creds/:role).
func (d *Database) Creds(ctx context.Context, role string) (*DatabaseCreds, error) {
	p, err := d.sub("creds", "database creds", role)
	if err != nil {
		return nil, err
	}
	var out DatabaseCreds
	s, err := d.call(ctx, "database creds "+role, request{method: http.MethodGet, path: p}, &out)
	if err != nil {
		return nil, err
	}
	out.LeaseInfo, out.Raw = leaseOf(s), s
	return &out, nil
}

// DatabaseStaticCreds are the current credentials of a static role (GET
// mount/static-creds/:name): the server rotates the password; TTL is the
// time left until the next rotation.
type DatabaseStaticCreds struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// TTL is the time to the next rotation, in seconds.
	TTL int64 `json:"ttl"`
	// RotationPeriod (seconds) or RotationSchedule (cron) say when the
	// password rotates.
	RotationPeriod   int64  `json:"rotation_period,omitempty"`
	RotationSchedule string `json:"rotation_schedule,omitempty"`
	// LastVaultRotation is when the server last rotated the password
	// (RFC 3339; empty before the first rotation).
	LastVaultRotation string `json:"last_vault_rotation,omitempty"`
	// Raw is the whole response envelope.
	Raw *Secret `json:"-"`
}

// StaticCreds reads the credentials of the static role name (GET
// mount/static-creds/:name).
func (d *Database) StaticCreds(ctx context.Context, name string) (*DatabaseStaticCreds, error) {
	p, err := d.sub("static-creds", "database static creds", name)
	if err != nil {
		return nil, err
	}
	var out DatabaseStaticCreds
	s, err := d.call(ctx, "database static creds "+name, request{method: http.MethodGet, path: p}, &out)
	if err != nil {
		return nil, err
	}
	out.Raw = s
	return &out, nil
}

// AWS is an AWS secrets engine mounted at one path.
type AWS struct{ mountPath }

// AWS returns the helpers for the AWS engine at mount, e.g. "aws".
func (c *Client) AWS(mount string) *AWS {
	return &AWS{mountPath{c: c, mount: strings.Trim(mount, "/")}}
}

// AWSCredsInput optionally tunes AWS.Creds (the query of GET
// mount/creds/:role): RoleARN picks one of an assumed_role role's ARNs,
// TTL the lifetime of STS credentials ("1h"), RoleSessionName the
// session name of an assumed role.
type AWSCredsInput struct {
	RoleARN, TTL, RoleSessionName string
}

// AWSCreds is an AWS access key (IAM user, or STS with SecurityToken).
type AWSCreds struct {
	AccessKey     string `json:"access_key"`
	SecretKey     string `json:"secret_key"`
	SecurityToken string `json:"security_token"`
	ARN           string `json:"arn"`
	LeaseInfo
	// Raw is the whole response envelope.
	Raw *Secret `json:"-"`
}

// Creds issues credentials of role (GET mount/creds/:role); in may be nil.
func (a *AWS) Creds(ctx context.Context, role string, in *AWSCredsInput) (*AWSCreds, error) {
	p, err := a.sub("creds", "aws creds", role)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if in != nil {
		for k, v := range map[string]string{"role_arn": in.RoleARN, "ttl": in.TTL, "role_session_name": in.RoleSessionName} {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	var out AWSCreds
	s, err := a.call(ctx, "aws creds "+role, request{method: http.MethodGet, path: p, query: q}, &out)
	if err != nil {
		return nil, err
	}
	out.LeaseInfo, out.Raw = leaseOf(s), s
	return &out, nil
}
