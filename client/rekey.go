package client

import (
	"context"
	"fmt"
	"net/http"
)

// RekeyOption modifies a rekey call.
type RekeyOption func(*rekeyOptions)

type rekeyOptions struct{ rotateKeys bool }

// WithRotateKeys makes a rekey call use OpenBao's token-authenticated
// names of the ceremony, sys/rotate/root/{init,update,verify}, whose
// answers come in the response envelope, instead of Vault's
// unauthenticated sys/rekey/*. The client's token must be a root token.
// Both names drive the same ceremony on a SecretumVault server.
func WithRotateKeys() RekeyOption { return func(o *rekeyOptions) { o.rotateKeys = true } }

// RekeyInitRequest is the body of sys/rekey/init.
type RekeyInitRequest struct {
	// SecretShares and SecretThreshold describe the new shares.
	SecretShares    int `json:"secret_shares"`
	SecretThreshold int `json:"secret_threshold"`
	// RequireVerification keeps the old shares valid until a threshold of
	// the new ones has been submitted to RekeyVerifyUpdate.
	RequireVerification bool `json:"require_verification"`
	// PGPKeys and Backup are Vault's PGP-encrypted shares and their
	// backup. SecretumVault refuses both (400); they exist for servers
	// that support them.
	PGPKeys []string `json:"pgp_keys,omitempty"`
	Backup  bool     `json:"backup,omitempty"`
}

// RekeyStatus is the state of a rekey (sys/rekey/init).
type RekeyStatus struct {
	// Started is false when no rekey is in progress.
	Started bool `json:"started"`
	// Nonce identifies the rekey; RekeyUpdate needs it.
	Nonce string `json:"nonce"`
	// T and N are the new threshold and number of shares.
	T int `json:"t"`
	N int `json:"n"`
	// Progress is how many current shares were submitted of the Required
	// (the current threshold).
	Progress int `json:"progress"`
	Required int `json:"required"`
	// PGPFingerprints and Backup describe PGP-encrypted shares (Vault).
	PGPFingerprints []string `json:"pgp_fingerprints"`
	Backup          bool     `json:"backup"`
	// VerificationRequired says the new shares must be verified.
	VerificationRequired bool `json:"verification_required"`
	// VerificationNonce is set once new shares wait for verification.
	VerificationNonce string `json:"verification_nonce"`
}

// RekeyUpdateResponse is the answer of sys/rekey/update. Until Complete it
// carries the rekey's status; once Complete, Keys (hex) and KeysB64 hold
// the new shares, and VerificationNonce is set when they still need
// verification.
type RekeyUpdateResponse struct {
	RekeyStatus
	Complete bool     `json:"complete"`
	Keys     []string `json:"keys,omitempty"`
	KeysB64  []string `json:"keys_base64,omitempty"`
}

// RekeyVerifyStatus is the state of the verification of new shares
// (sys/rekey/verify).
type RekeyVerifyStatus struct {
	// Nonce is the verification nonce; RekeyVerifyUpdate needs it.
	Nonce   string `json:"nonce"`
	Started bool   `json:"started"`
	// T and N are the new threshold and number of shares.
	T int `json:"t"`
	N int `json:"n"`
	// Progress is how many new shares were submitted (of T).
	Progress int `json:"progress"`
}

// RekeyVerifyUpdateResponse is the answer of a verification share: once
// Complete, the new shares have replaced the old ones.
type RekeyVerifyUpdateResponse struct {
	Nonce    string `json:"nonce"`
	Complete bool   `json:"complete"`
}

// RekeyStatus returns the state of the rekey (GET sys/rekey/init).
func (s *Sys) RekeyStatus(ctx context.Context, opts ...RekeyOption) (*RekeyStatus, error) {
	var out RekeyStatus
	if err := s.rekeyCall(ctx, http.MethodGet, "init", nil, &out, opts); err != nil {
		return nil, fmt.Errorf("rekey status: %w", err)
	}
	return &out, nil
}

// RekeyInit starts a rekey (PUT sys/rekey/init) and returns its status,
// with the nonce every RekeyUpdate must carry.
//
// The rekey ceremony replaces the unseal key shares, and may change their
// number and threshold, without touching the data: RekeyInit starts it, a
// threshold of holders of the current shares each call RekeyUpdate with
// the ceremony's nonce, and the last update returns the new shares. With
// RequireVerification the new shares only replace the old ones once a
// threshold of them has been submitted to RekeyVerifyUpdate with the
// verification nonce; until then the old shares stay valid. RekeyCancel
// abandons the ceremony at any point before that.
//
// By default every rekey call uses Vault's unauthenticated names,
// sys/rekey/* (what `vault operator rekey` calls): the key shares are the
// authority. WithRotateKeys selects OpenBao's token-authenticated names of
// the same ceremony, sys/rotate/root/* (`bao operator rotate-keys`).
func (s *Sys) RekeyInit(ctx context.Context, req *RekeyInitRequest, opts ...RekeyOption) (*RekeyStatus, error) {
	if req == nil {
		return nil, invalidArg("nil RekeyInitRequest")
	}
	var out RekeyStatus
	if err := s.rekeyCall(ctx, http.MethodPut, "init", req, &out, opts); err != nil {
		return nil, fmt.Errorf("rekey init: %w", err)
	}
	return &out, nil
}

// RekeyCancel discards the rekey in progress, if any, with the shares
// submitted and any new shares awaiting verification (DELETE
// sys/rekey/init).
func (s *Sys) RekeyCancel(ctx context.Context, opts ...RekeyOption) error {
	if err := s.rekeyCall(ctx, http.MethodDelete, "init", nil, nil, opts); err != nil {
		return fmt.Errorf("rekey cancel: %w", err)
	}
	return nil
}

// RekeyUpdate submits one current unseal key share (hex or base64) with
// the rekey's nonce (PUT sys/rekey/update). The answer that completes the
// threshold carries the new shares.
func (s *Sys) RekeyUpdate(ctx context.Context, key, nonce string, opts ...RekeyOption) (*RekeyUpdateResponse, error) {
	if err := checkShare(key, nonce); err != nil {
		return nil, err
	}
	var out RekeyUpdateResponse
	body := map[string]any{"key": key, "nonce": nonce}
	if err := s.rekeyCall(ctx, http.MethodPut, "update", body, &out, opts); err != nil {
		return nil, fmt.Errorf("rekey update: %w", err)
	}
	return &out, nil
}

// RekeyVerifyStatus returns the state of the verification of the new
// shares (GET sys/rekey/verify); the server answers 400 when no new
// shares await verification.
func (s *Sys) RekeyVerifyStatus(ctx context.Context, opts ...RekeyOption) (*RekeyVerifyStatus, error) {
	var out RekeyVerifyStatus
	if err := s.rekeyCall(ctx, http.MethodGet, "verify", nil, &out, opts); err != nil {
		return nil, fmt.Errorf("rekey verify status: %w", err)
	}
	return &out, nil
}

// RekeyVerifyUpdate submits one new unseal key share with the
// verification nonce (PUT sys/rekey/verify). When it completes the
// threshold, the new shares replace the old ones.
func (s *Sys) RekeyVerifyUpdate(ctx context.Context, key, nonce string, opts ...RekeyOption) (*RekeyVerifyUpdateResponse, error) {
	if err := checkShare(key, nonce); err != nil {
		return nil, err
	}
	var out RekeyVerifyUpdateResponse
	body := map[string]any{"key": key, "nonce": nonce}
	if err := s.rekeyCall(ctx, http.MethodPut, "verify", body, &out, opts); err != nil {
		return nil, fmt.Errorf("rekey verify: %w", err)
	}
	return &out, nil
}

// RekeyVerifyRestart discards the verification shares submitted so far
// and starts the verification over with a new nonce (DELETE
// sys/rekey/verify); the new shares still await verification. Read the
// new nonce with RekeyVerifyStatus.
func (s *Sys) RekeyVerifyRestart(ctx context.Context, opts ...RekeyOption) error {
	if err := s.rekeyCall(ctx, http.MethodDelete, "verify", nil, nil, opts); err != nil {
		return fmt.Errorf("rekey verify restart: %w", err)
	}
	return nil
}

// rekeyCall sends one rekey request to sys/rekey/<op> or, with
// WithRotateKeys, sys/rotate/root/<op>, and decodes the answer into out
// (nil: the answer is ignored).
func (s *Sys) rekeyCall(ctx context.Context, method, op string, body, out any, opts []RekeyOption) error {
	var o rekeyOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	req := request{method: method, path: "sys/rekey/" + op, body: body}
	if o.rotateKeys {
		req.path = "sys/rotate/root/" + op
	}
	if out == nil {
		return s.c.send(ctx, req)
	}
	if o.rotateKeys {
		return s.c.data(ctx, req, out)
	}
	return s.c.raw(ctx, req, out)
}

// checkShare refuses an empty key share or nonce before anything is sent.
func checkShare(key, nonce string) error {
	switch {
	case key == "":
		return invalidArg("empty key share")
	case nonce == "":
		return invalidArg("empty nonce")
	}
	return nil
}
