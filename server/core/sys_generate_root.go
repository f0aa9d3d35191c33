package core

import (
	"context"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
)

// generateRootPaths are the generate-root ceremony under Vault's names
// (sys/generate-root/*) and OpenBao's (sys/generate-root-token/*, what
// `bao operator generate-root` calls): a quorum of unseal key holders
// mints a root token, returned encoded with a one-time password only the
// initiator holds. Unauthenticated, as in Vault: the key shares are the
// authority (a listener may turn the ceremony off).
func (c sysHandlers) generateRootPaths() []*framework.Path {
	var out []*framework.Path
	for _, base := range []string{"generate-root", "generate-root-token"} {
		paths := []*framework.Path{
			{
				Pattern: base + "/attempt", Unauthenticated: true,
				Fields: map[string]*framework.FieldSchema{"otp": {Type: framework.TypeString}, "pgp_key": {Type: framework.TypeString}},
				Operations: map[logical.Operation]framework.OperationHandler{
					logical.ReadOperation: c.handleRootAttemptStatus, logical.UpdateOperation: c.handleRootAttemptInit,
					logical.DeleteOperation: c.handleRootAttemptCancel,
				},
				HelpSynopsis: "Start, read or cancel a root token generation.",
			},
			{
				Pattern: base + "/update", Unauthenticated: true, Fields: shareFields(),
				Operations: writeOp(c.handleRootAttemptUpdate), HelpSynopsis: "Submit an unseal key share towards a root token.",
			},
		}
		if base == "generate-root-token" {
			inEnvelope(paths) // OpenBao's client reads these under data
		}
		out = append(out, paths...)
	}
	return out
}

// rootStatus renders an attempt's state in Vault's shape.
func (c *Core) rootStatus(ctx context.Context, otp string) (map[string]any, error) {
	cfg, err := c.shamir.Config(ctx)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, logical.InvalidRequest("", "server is not yet initialized")
	}
	d := map[string]any{
		"nonce": "", "started": false, "progress": 0, "required": cfg.SecretThreshold, "complete": false,
		"encoded_token": "", "encoded_root_token": "", "pgp_fingerprint": "", "otp": otp, "otp_length": token.OTPLength,
	}
	c.ceremonies.mu.Lock()
	a := c.ceremonies.genRoot
	c.ceremonies.mu.Unlock()
	if a != nil {
		vs, err := a.verifier.Status(ctx)
		if err != nil {
			return nil, ceremonyError(err)
		}
		d["nonce"], d["started"], d["progress"], d["required"] = vs.Nonce, true, vs.Progress, vs.Required
	}
	return d, nil
}

func (c sysHandlers) handleRootAttemptStatus(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	d, err := c.rootStatus(ctx, "")
	if err != nil {
		return nil, err
	}
	return &logical.Response{Raw: d}, nil
}

func (c sysHandlers) handleRootAttemptInit(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in struct {
		OTP    string `json:"otp"`
		PGPKey string `json:"pgp_key"`
	}
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.PGPKey != "" {
		return nil, logical.InvalidRequest("pgp_key", "PGP-encrypted root tokens are not supported yet: use an OTP")
	}
	otp, generated := in.OTP, false
	if otp == "" {
		var err error
		if otp, err = token.NewOTP(); err != nil {
			return nil, err
		}
		generated = true
	}
	if len(otp) != token.OTPLength {
		return nil, logical.InvalidRequest("otp", "the OTP must be %d characters long (otp_length)", token.OTPLength)
	}
	v, err := c.shamir.NewVerifier()
	if err != nil {
		return nil, ceremonyError(err)
	}
	c.ceremonies.mu.Lock()
	if c.ceremonies.genRoot != nil {
		c.ceremonies.mu.Unlock()
		return nil, logical.InvalidRequest("", "root generation already in progress")
	}
	c.ceremonies.genRoot = &rootAttempt{verifier: v, otp: otp}
	c.ceremonies.mu.Unlock()
	c.logger.Info("core: root token generation started", "nonce", v.Nonce())
	shown := ""
	if generated {
		shown = otp
	}
	out, err := c.rootStatus(ctx, shown)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Raw: out}, nil
}

func (c sysHandlers) handleRootAttemptCancel(_ context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	c.ceremonies.mu.Lock()
	c.ceremonies.genRoot = nil
	c.ceremonies.mu.Unlock()
	return nil, nil
}

func (c sysHandlers) handleRootAttemptUpdate(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	share, nonce, err := shareFrom(d)
	if err != nil {
		return nil, err
	}
	c.ceremonies.mu.Lock()
	a := c.ceremonies.genRoot
	c.ceremonies.mu.Unlock()
	if a == nil {
		clear(share)
		return nil, logical.InvalidRequest("", "no root generation in progress")
	}
	vs, err := a.verifier.Add(ctx, share, nonce)
	clear(share)
	if err != nil {
		return nil, ceremonyError(err)
	}
	out := map[string]any{
		"nonce": vs.Nonce, "started": true, "progress": vs.Progress, "required": vs.Required, "complete": vs.Complete,
		"encoded_token": "", "encoded_root_token": "", "pgp_fingerprint": "", "otp": "", "otp_length": token.OTPLength,
	}
	if !vs.Complete {
		return &logical.Response{Raw: out}, nil
	}
	encoded, err := c.mintEncodedRoot(ctx, a)
	if err != nil {
		return nil, err
	}
	out["encoded_token"], out["encoded_root_token"] = encoded, encoded
	return &logical.Response{Raw: out}, nil
}

// mintEncodedRoot ends attempt a: it creates a root token and returns it
// encoded with the attempt's OTP.
func (c *Core) mintEncodedRoot(ctx context.Context, a *rootAttempt) (string, error) {
	c.ceremonies.mu.Lock()
	if c.ceremonies.genRoot != a {
		c.ceremonies.mu.Unlock()
		return "", logical.InvalidRequest("", "the root generation was cancelled")
	}
	c.ceremonies.genRoot = nil
	c.ceremonies.mu.Unlock()
	st, err := c.state()
	if err != nil {
		return "", err
	}
	raw, te, err := st.tokens.CreateRoot(ctx)
	if err != nil {
		return "", err
	}
	encoded, err := token.EncodeWithOTP(raw, a.otp)
	if err != nil {
		return "", err
	}
	c.logger.Warn("core: a root token was generated from unseal key shares", "accessor", te.Accessor)
	return encoded, nil
}
