package client

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// GenerateRootStatus is the state of a root token generation
// (sys/generate-root/attempt and sys/generate-root/update).
type GenerateRootStatus struct {
	// Started is false when no generation is in progress.
	Started bool `json:"started"`
	// Nonce identifies the attempt; GenerateRootUpdate needs it.
	Nonce string `json:"nonce"`
	// Progress is how many unseal key shares were submitted of Required.
	Progress int `json:"progress"`
	Required int `json:"required"`
	// Complete is set by the update that completed the threshold, whose
	// EncodedToken (also in EncodedRootToken, Vault's older name) is the
	// new root token encoded with the OTP: see DecodeRootToken.
	Complete         bool   `json:"complete"`
	EncodedToken     string `json:"encoded_token"`
	EncodedRootToken string `json:"encoded_root_token"`
	// PGPFingerprint is set for a PGP-encrypted token (Vault).
	PGPFingerprint string `json:"pgp_fingerprint"`
	// OTP is the one-time password the server generated when the attempt
	// was started without one; it is only ever returned by that call.
	OTP string `json:"otp"`
	// OTPLength is the length an OTP must have.
	OTPLength int `json:"otp_length"`
}

// generateRootAttemptPath and generateRootUpdatePath are Vault's names of
// the ceremony, unauthenticated: the key shares are the authority.
const (
	generateRootAttemptPath = "sys/generate-root/attempt"
	generateRootUpdatePath  = "sys/generate-root/update"
)

// GenerateRootStatus returns the state of the root token generation (GET
// sys/generate-root/attempt), with the OTP length the server expects.
func (s *Sys) GenerateRootStatus(ctx context.Context) (*GenerateRootStatus, error) {
	return s.generateRoot(ctx, "generate-root status", request{method: http.MethodGet, path: generateRootAttemptPath})
}

// GenerateRootInit starts a root token generation (PUT
// sys/generate-root/attempt). otp, of the status's OTPLength, is the
// one-time password the new token will be encoded with; with otp "" the
// server generates one and returns it in the answer's OTP, the only time
// it is shown. A threshold of unseal key holders then call
// GenerateRootUpdate with the returned nonce, and the initiator decodes
// the final EncodedToken with DecodeRootToken. PGP-encrypted tokens are
// not offered: SecretumVault refuses them.
func (s *Sys) GenerateRootInit(ctx context.Context, otp string) (*GenerateRootStatus, error) {
	body := map[string]any{}
	if otp != "" {
		body["otp"] = otp
	}
	return s.generateRoot(ctx, "generate-root init", request{method: http.MethodPut, path: generateRootAttemptPath, body: body})
}

// GenerateRootUpdate submits one unseal key share (hex or base64) with the
// attempt's nonce (PUT sys/generate-root/update). The answer that
// completes the threshold is Complete and carries the EncodedToken.
func (s *Sys) GenerateRootUpdate(ctx context.Context, key, nonce string) (*GenerateRootStatus, error) {
	if err := checkShare(key, nonce); err != nil {
		return nil, err
	}
	body := map[string]any{"key": key, "nonce": nonce}
	return s.generateRoot(ctx, "generate-root update", request{method: http.MethodPut, path: generateRootUpdatePath, body: body})
}

// GenerateRootCancel discards the root token generation in progress, if
// any (DELETE sys/generate-root/attempt).
func (s *Sys) GenerateRootCancel(ctx context.Context) error {
	if err := s.c.send(ctx, request{method: http.MethodDelete, path: generateRootAttemptPath}); err != nil {
		return fmt.Errorf("generate-root cancel: %w", err)
	}
	return nil
}

func (s *Sys) generateRoot(ctx context.Context, what string, req request) (*GenerateRootStatus, error) {
	var out GenerateRootStatus
	if err := s.c.raw(ctx, req, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &out, nil
}

// DecodeRootToken returns the root token that a completed generation
// encoded with otp: encoded is the unpadded standard base64 of the token
// XOR the OTP, as Vault and OpenBao encode it (and as `vault operator
// generate-root -decode` reads it). It needs no server. Errors, which
// wrap ErrInvalidArgument and never contain either input, report a value
// that is not base64 or whose length is not the OTP's.
func DecodeRootToken(encoded, otp string) (string, error) {
	encoded = strings.TrimRight(strings.TrimSpace(encoded), "=")
	if encoded == "" || otp == "" {
		return "", invalidArg("decode root token: the encoded token and the OTP are both needed")
	}
	raw, err := base64.RawStdEncoding.DecodeString(encoded)
	if err != nil {
		return "", invalidArg("decode root token: the encoded token is not base64")
	}
	if len(raw) != len(otp) {
		return "", invalidArg("decode root token: the encoded token is %d bytes, the OTP %d: not the OTP it was encoded with", len(raw), len(otp))
	}
	out := make([]byte, len(raw))
	subtle.XORBytes(out, raw, []byte(otp))
	return string(out), nil
}
