package core

import (
	"context"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// rekeyPaths are the rekey ceremony (new unseal keys, same data) under
// Vault's unauthenticated names, sys/rekey/* (what `vault|bao operator
// rekey` call; a listener may turn them off), and under OpenBao's
// token-authenticated names, sys/rotate/root/* (`bao operator
// rotate-keys`). Both drive the same ceremony.
func (c sysHandlers) rekeyPaths() []*framework.Path {
	var out []*framework.Path
	for _, v := range []struct {
		base   string
		unauth bool
	}{{"rekey", true}, {"rotate/root", false}} {
		paths := []*framework.Path{
			{
				Pattern: v.base + "/init", Unauthenticated: v.unauth, Sudo: !v.unauth,
				Fields: map[string]*framework.FieldSchema{
					"secret_shares": {Type: framework.TypeInt}, "secret_threshold": {Type: framework.TypeInt},
					"pgp_keys": {Type: framework.TypeStringSlice}, "backup": {Type: framework.TypeBool},
					"require_verification": {Type: framework.TypeBool},
				},
				Operations: map[logical.Operation]framework.OperationHandler{
					logical.ReadOperation: c.handleRekeyStatus, logical.UpdateOperation: c.handleRekeyInit,
					logical.DeleteOperation: c.handleRekeyCancel,
				},
				HelpSynopsis: "Start, read or cancel a rekey of the unseal keys.",
			},
			{
				Pattern: v.base + "/update", Unauthenticated: v.unauth, Sudo: !v.unauth,
				Fields:     shareFields(),
				Operations: writeOp(c.handleRekeyUpdate), HelpSynopsis: "Submit a current unseal key share.",
			},
			{
				Pattern: v.base + "/verify", Unauthenticated: v.unauth, Sudo: !v.unauth,
				Fields: shareFields(),
				Operations: map[logical.Operation]framework.OperationHandler{
					logical.ReadOperation: c.handleRekeyVerifyStatus, logical.UpdateOperation: c.handleRekeyVerify,
					logical.DeleteOperation: c.handleRekeyVerifyRestart,
				},
				HelpSynopsis: "Prove the new unseal keys before they replace the old ones.",
			},
		}
		if !v.unauth {
			inEnvelope(paths) // OpenBao's client reads sys/rotate/root/* under data
		}
		out = append(out, paths...)
	}
	return out
}

func shareFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{"key": {Type: framework.TypeString}, "nonce": {Type: framework.TypeString}}
}

// shareFrom decodes the key share (hex or base64) and nonce of a
// ceremony update; the caller clears the share.
func shareFrom(d *framework.FieldData) (share []byte, nonce string, err error) {
	var in struct {
		Key   string `json:"key"`
		Nonce string `json:"nonce"`
	}
	if err := d.Decode(&in); err != nil {
		return nil, "", err
	}
	share, err = decodeShare(in.Key)
	return share, in.Nonce, err
}

func rekeyStatusData(st seal.RekeyStatus) map[string]any {
	d := map[string]any{
		"nonce": st.Nonce, "started": st.Started, "t": st.T, "n": st.N, "progress": st.Progress,
		"required": st.Required, "pgp_fingerprints": nil, "backup": false,
		"verification_required": st.VerificationRequired,
	}
	if st.VerificationNonce != "" {
		d["verification_nonce"] = st.VerificationNonce
	}
	return d
}

func (c sysHandlers) handleRekeyStatus(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	st, err := c.ceremonies.rekeyOf(c.shamir).Status(ctx)
	if err != nil {
		return nil, ceremonyError(err)
	}
	return &logical.Response{Raw: rekeyStatusData(st)}, nil
}

type rekeyInitInput struct {
	SecretShares        int      `json:"secret_shares"`
	SecretThreshold     int      `json:"secret_threshold"`
	PGPKeys             []string `json:"pgp_keys"`
	Backup              bool     `json:"backup"`
	RequireVerification bool     `json:"require_verification"`
}

func (c sysHandlers) handleRekeyInit(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in rekeyInitInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	switch {
	case len(in.PGPKeys) > 0:
		return nil, logical.InvalidRequest("pgp_keys", "PGP-encrypted key shares are not supported yet")
	case in.Backup:
		return nil, logical.InvalidRequest("backup", "cannot request a backup of the new keys without providing PGP keys for encryption")
	}
	cfg := seal.Config{Type: seal.TypeShamir, SecretShares: in.SecretShares, SecretThreshold: in.SecretThreshold}
	st, err := c.ceremonies.rekeyOf(c.shamir).Init(ctx, cfg, in.RequireVerification)
	if err != nil {
		return nil, ceremonyError(err)
	}
	c.logger.Info("core: rekey started", "shares", in.SecretShares, "threshold", in.SecretThreshold, "verification", in.RequireVerification)
	return &logical.Response{Raw: rekeyStatusData(st)}, nil
}

func (c sysHandlers) handleRekeyCancel(_ context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	c.ceremonies.rekeyOf(c.shamir).Cancel()
	return nil, nil
}

func (c sysHandlers) handleRekeyUpdate(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	share, nonce, err := shareFrom(d)
	if err != nil {
		return nil, err
	}
	rk := c.ceremonies.rekeyOf(c.shamir)
	res, err := rk.Update(ctx, share, nonce)
	clear(share)
	if err != nil {
		return nil, ceremonyError(err)
	}
	if !res.Complete {
		st, err := rk.Status(ctx)
		if err != nil {
			return nil, ceremonyError(err)
		}
		return &logical.Response{Raw: rekeyStatusData(st)}, nil
	}
	keys, keysB64 := encodeShares(res.Keys)
	out := map[string]any{
		"nonce": res.Nonce, "complete": true, "keys": keys, "keys_base64": keysB64,
		"pgp_fingerprints": nil, "backup": false, "verification_required": res.VerificationRequired,
	}
	if res.VerificationNonce != "" {
		out["verification_nonce"] = res.VerificationNonce
	} else {
		c.logger.Info("core: rekey complete: the new unseal keys replace the old ones")
	}
	return &logical.Response{Raw: out}, nil
}

func (c *Core) verifyStatus(ctx context.Context) (map[string]any, error) {
	st, err := c.ceremonies.rekeyOf(c.shamir).Status(ctx)
	if err != nil {
		return nil, ceremonyError(err)
	}
	if !st.Started || !st.VerificationRequired || st.VerificationNonce == "" {
		return nil, logical.InvalidRequest("", "no rekey verification is in progress")
	}
	return map[string]any{"nonce": st.VerificationNonce, "started": true, "t": st.T, "n": st.N, "progress": st.VerificationProgress}, nil
}

func (c sysHandlers) handleRekeyVerifyStatus(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	d, err := c.verifyStatus(ctx)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Raw: d}, nil
}

func (c sysHandlers) handleRekeyVerify(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	share, nonce, err := shareFrom(d)
	if err != nil {
		return nil, err
	}
	vs, err := c.ceremonies.rekeyOf(c.shamir).Verify(ctx, share, nonce)
	clear(share)
	if err != nil {
		return nil, ceremonyError(err)
	}
	if vs.Complete {
		c.logger.Info("core: rekey verified and complete: the new unseal keys replace the old ones")
	}
	return &logical.Response{Raw: map[string]any{"nonce": vs.Nonce, "complete": vs.Complete}}, nil
}

func (c sysHandlers) handleRekeyVerifyRestart(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	if _, err := c.ceremonies.rekeyOf(c.shamir).RestartVerification(); err != nil {
		return nil, ceremonyError(err)
	}
	d, err := c.verifyStatus(ctx)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Raw: d}, nil
}
