package keypair

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/method"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// EntityType is the Cedar type of the entities keypair logins create.
const EntityType = "User"

func (b *Backend) pathNonce() *framework.Path {
	return &framework.Path{
		Pattern: "nonce",
		Fields: map[string]*framework.FieldSchema{
			"name": {Type: framework.TypeString, Required: true, Description: "Name of the key that will log in."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: b.handleNonce,
		},
		Unauthenticated: true,
		HelpSynopsis:    "Issue a single-use login nonce.",
	}
}

func (b *Backend) pathLogin() *framework.Path {
	return &framework.Path{
		Pattern: "login",
		Fields: map[string]*framework.FieldSchema{
			"name":      {Type: framework.TypeString, Required: true, Description: "Name of the key."},
			"nonce":     {Type: framework.TypeString, Required: true, Description: "A nonce from the nonce path."},
			"timestamp": {Type: framework.TypeString, Required: true, Description: "The client's time, RFC 3339."},
			"signature": {Type: framework.TypeString, Required: true, Description: "Base64 Ed25519 signature of the canonical login message."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: b.handleLogin,
		},
		Unauthenticated: true,
		HelpSynopsis:    "Log in with a signature over a nonce.",
	}
}

// handleNonce issues a nonce for any well-formed name, registered or not.
func (b *Backend) handleNonce(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	if err := validName(name); err != nil {
		return nil, err
	}
	cfg, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	nonce, expires, err := b.nonces.issue(name, b.now(), cfg.NonceTTL)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"nonce":      nonce,
		"expires_at": expires.UTC().Format(time.RFC3339Nano),
	}}, nil
}

// loginInput is a syntactically valid login request.
type loginInput struct {
	Name, Nonce, Timestamp string
	Time                   time.Time
	Signature              []byte
}

// parseLogin checks the login fields' syntax (a 400, which consumes no
// nonce and counts no failure).
func parseLogin(d *framework.FieldData) (*loginInput, error) {
	in := &loginInput{Name: d.String("name"), Nonce: d.String("nonce"), Timestamp: d.String("timestamp")}
	if err := validName(in.Name); err != nil {
		return nil, err
	}
	if !validNonce(in.Nonce) {
		return nil, logical.InvalidRequest("nonce", "malformed nonce")
	}
	t, err := time.Parse(time.RFC3339, in.Timestamp)
	if err != nil {
		return nil, logical.InvalidRequest("timestamp", "must be an RFC 3339 time")
	}
	in.Time = t
	sig, err := base64.StdEncoding.DecodeString(d.String("signature"))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, logical.InvalidRequest("signature", "must be %d bytes in base64", ed25519.SignatureSize)
	}
	in.Signature = sig
	return in, nil
}

func (b *Backend) handleLogin(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	in, err := parseLogin(d)
	if err != nil {
		return nil, err
	}
	remote := method.RemoteAddr(req)
	auth, _, err := lockout.Attempt(b.lockout, lockout.Key(in.Name, remote), isLoginFailure, func() (*logical.Auth, error) {
		return b.verify(ctx, req, in, remote)
	})
	if err != nil {
		return nil, err
	}
	return &logical.Response{Auth: auth}, nil
}

// isLoginFailure tells a refused login (counted by the lockout) from a
// failure of the server.
func isLoginFailure(err error) bool { return errors.Is(err, ErrLoginFailed) }

// dummyKey is verified against for names that are not registered, so
// that such a login costs what a bad signature costs.
var dummyKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)

// verify consumes the nonce, then checks the timestamp, the signature
// and the bound CIDRs. Every failure is ErrLoginFailed; storage errors
// pass through.
func (b *Backend) verify(ctx context.Context, req *logical.Request, in *loginInput, remote string) (*logical.Auth, error) {
	cfg, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	now := b.now()
	issued, ok := b.nonces.consume(in.Name, in.Nonce, now)
	if !ok || !timely(in.Time, issued, now, cfg.ClockSkew) {
		return nil, ErrLoginFailed
	}
	e, err := loadKey(ctx, req.Storage, in.Name)
	if err != nil {
		return nil, err
	}
	pub := dummyKey
	if e != nil {
		pub = e.PublicKey
	}
	msg := LoginMessage(b.mountPath(req), in.Name, in.Nonce, in.Timestamp)
	if !ed25519.Verify(pub, msg, in.Signature) || e == nil || !logical.AddrAllowed(remote, e.BoundCIDRs) {
		return nil, ErrLoginFailed
	}
	return e.auth(in.Name), nil
}

// timely reports whether a login's timestamp t is within skew of now
// and not before the nonce's issue (less skew, for a client clock that
// runs behind the server's).
func timely(t, issued, now time.Time, skew time.Duration) bool {
	return !t.Before(issued.Add(-skew)) && !t.Before(now.Add(-skew)) && !t.After(now.Add(skew))
}

// auth is the Auth block of a successful login of the key name.
// DisplayName is left empty so that core names the token
// "<mount>-<name>", as Vault names a userpass token.
func (e *keyEntry) auth(name string) *logical.Auth {
	fp := Fingerprint(e.PublicKey)
	a := &logical.Auth{
		Alias:      &logical.Alias{Name: name, Metadata: map[string]string{"name": name, "fingerprint": fp}},
		EntityType: EntityType,
		Metadata:   map[string]string{"name": name, "fingerprint": fp},
	}
	e.Apply(a)
	a.Renewable = false // keypair has never asked; core mints login tokens renewable regardless

	return a
}
