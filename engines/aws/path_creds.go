package aws

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// defaultDisplayName stands for the token's display name in generated
// usernames (Vault's "vault-<display name>-<role>-..."), which requests
// do not carry yet.
const defaultDisplayName = "token"

// defaultSTSTTL is the lifetime of STS credentials when neither the
// request nor the role says (Vault's ttl default, 3600 seconds).
const defaultSTSTTL = time.Hour

func (b *Backend) pathCreds() *framework.Path {
	return &framework.Path{
		Pattern: `(?P<kind>creds|sts)/` + nameRe,
		Fields: map[string]*framework.FieldSchema{
			"name":              {Type: framework.TypeString, Description: "Name of the role."},
			"kind":              {Type: framework.TypeString, Description: "creds or sts."},
			"role_arn":          {Type: framework.TypeString, Description: "ARN of the role to assume (assumed_role)."},
			"ttl":               {Type: framework.TypeDuration, Description: "Lifetime of STS credentials (default: the role's default_sts_ttl, else 3600s)."},
			"role_session_name": {Type: framework.TypeString, Description: "Session name of an assumed role (at most 64 characters)."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleCreds,
			logical.UpdateOperation: b.handleCreds,
		},
		Actions:      map[logical.Operation]string{logical.ReadOperation: "generate", logical.UpdateOperation: "generate"},
		HelpSynopsis: "Generate AWS credentials for a role, under a lease.",
	}
}

// credsPath matches creds/:name and sts/:name.
var credsPath = regexp.MustCompile(`^(?P<kind>creds|sts)/` + nameRe + `$`)

// GrantTTL implements logical.TTLGranter: a creds/ or sts/ request
// without ttl grants an iam_user role config/lease's lease (else the
// mount's default) and an STS role what stsTTL gives. Any other request,
// or a role that does not exist, is ok=false.
func (b *Backend) GrantTTL(ctx context.Context, req *logical.Request) (time.Duration, bool, error) {
	if req.Operation != logical.ReadOperation && req.Operation != logical.UpdateOperation {
		return 0, false, nil
	}
	m := credsPath.FindStringSubmatch(req.Path)
	if m == nil {
		return 0, false, nil
	}
	r, err := loadRole(ctx, req.Storage, m[credsPath.SubexpIndex("name")])
	if err != nil || r == nil {
		return 0, false, err
	}
	in := credsInput{Kind: m[credsPath.SubexpIndex("kind")]}
	t, err := in.credentialType(r)
	if err != nil {
		return 0, false, nil
	}
	if t != iamUserCred {
		return b.stsTTL(nil, r), true, nil
	}
	def, _ := b.mountTTLs()
	l, err := loadLease(ctx, req.Storage)
	if err != nil {
		return 0, false, err
	}
	if l != nil && l.Lease > 0 {
		def = l.Lease
	}
	return def, def > 0, nil
}

// credsInput is a creds or sts request.
type credsInput struct {
	Name            string         `json:"name"`
	Kind            string         `json:"kind"`
	RoleArn         string         `json:"role_arn"`
	TTL             *time.Duration `json:"ttl"`
	RoleSessionName string         `json:"role_session_name"`
}

// handleCreds issues credentials of the role's credential type.
func (b *Backend) handleCreds(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in credsInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.TTL != nil && *in.TTL < 0 {
		return nil, logical.InvalidRequest("ttl", "must not be negative")
	}
	r, err := loadRole(ctx, req.Storage, in.Name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, logical.InvalidRequest("name", "Role %q not found", in.Name)
	}
	credType, err := in.credentialType(r)
	if err != nil {
		return nil, err
	}
	switch credType {
	case iamUserCred:
		return b.createIAMUser(ctx, req.Storage, in.Name, r)
	case assumedRoleCred:
		arn := in.RoleArn
		switch {
		case arn == "" && len(r.RoleArns) != 1:
			return nil, logical.InvalidRequest("role_arn", "did not supply a role_arn parameter and unable to determine one")
		case arn == "":
			arn = r.RoleArns[0]
		case !slices.Contains(r.RoleArns, arn):
			return nil, logical.InvalidRequest("role_arn", "role_arn %q not in allowed role arns for Vault role %q", arn, in.Name)
		}
		session := normalizeName(in.RoleSessionName)
		if session == "" {
			if session, err = b.iamUsername(in.Name); err != nil {
				return nil, err
			}
		}
		if len(session) > 64 {
			return nil, logical.InvalidRequest("role_session_name", "must be at most 64 characters")
		}
		return b.assumeRole(ctx, req.Storage, in.Name, r, arn, session, b.stsTTL(in.TTL, r))
	default:
		return b.federationToken(ctx, req.Storage, in.Name, r, b.stsTTL(in.TTL, r))
	}
}

// credentialType is the type a request gets: the role's only one, else
// iam_user from creds/ and federation_token from sts/, as Vault.
func (in *credsInput) credentialType(r *role) (string, error) {
	if len(r.CredentialTypes) == 1 {
		return r.CredentialTypes[0], nil
	}
	t := iamUserCred
	if in.Kind == "sts" {
		t = federationTokenCred
	}
	if !r.has(t) {
		return "", logical.InvalidRequest("name", "requested credential type %q not in allowed credential types %q", t, r.CredentialTypes)
	}
	return t, nil
}

// stsTTL is the lifetime asked of STS: the request's ttl, else the
// role's default_sts_ttl, else an hour; capped by the role's max_sts_ttl,
// else the mount's maximum.
func (b *Backend) stsTTL(req *time.Duration, r *role) time.Duration {
	ttl := defaultSTSTTL
	switch {
	case req != nil:
		ttl = *req
	case r.DefaultSTSTTL > 0:
		ttl = r.DefaultSTSTTL
	}
	max := r.MaxSTSTTL
	if max <= 0 {
		_, max = b.mountTTLs()
	}
	return min(ttl, max)
}

// nameUnsafe are the characters IAM names may not hold.
var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9+=,.@_-]`)

// normalizeName replaces what IAM names may not hold with "_", as Vault.
func normalizeName(s string) string { return nameUnsafe.ReplaceAllString(s, "_") }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// iamUsername is Vault's default IAM username (and session name):
// vault-<display name>-<role>-<unix time>-<20 random>, the middle part
// truncated to 42 characters and the whole to IAM's 64.
func (b *Backend) iamUsername(role string) (string, error) {
	rnd, err := randomAlnum(20)
	if err != nil {
		return "", err
	}
	mid := truncate(normalizeName(defaultDisplayName)+"-"+normalizeName(role), 42)
	return truncate(fmt.Sprintf("vault-%s-%d-%s", mid, b.now().Unix(), rnd), 64), nil
}

// stsName is Vault's default federated user name: vault-<unix
// time>-<random>, truncated to STS's 32 characters.
func (b *Backend) stsName() (string, error) {
	rnd, err := randomAlnum(20)
	if err != nil {
		return "", err
	}
	return truncate(fmt.Sprintf("vault-%d-%s", b.now().Unix(), rnd), 32), nil
}

// randomAlnum is n random characters of [A-Za-z0-9].
func randomAlnum(n int) (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, n)
	for i := range out {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("aws: random name: %w", err)
		}
		out[i] = alphabet[v.Int64()]
	}
	return string(out), nil
}
