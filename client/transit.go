package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Transit is a transit secrets engine mounted at one path: encryption
// as a service. Plaintexts and signed inputs are raw bytes; the helpers
// base64-encode them as the API wants.
type Transit struct{ mountPath }

// Transit returns the helpers for the transit engine at mount, e.g.
// "transit".
func (c *Client) Transit(mount string) *Transit {
	return &Transit{mountPath{c: c, mount: strings.Trim(mount, "/")}}
}

// TransitOption adds an optional parameter to a transit call.
type TransitOption func(map[string]any)

// WithTransitContext sets the key derivation context (derived keys).
func WithTransitContext(context []byte) TransitOption {
	return func(m map[string]any) { m["context"] = base64.StdEncoding.EncodeToString(context) }
}

// WithKeyVersion encrypts or signs with version v of the key instead of
// the latest.
func WithKeyVersion(v int) TransitOption { return func(m map[string]any) { m["key_version"] = v } }

// WithHashAlgorithm sets sign and verify's hash_algorithm ("sha2-256", ...).
func WithHashAlgorithm(alg string) TransitOption {
	return func(m map[string]any) { m["hash_algorithm"] = alg }
}

// WithSignatureAlgorithm sets an RSA key's signature_algorithm ("pss",
// "pkcs1v15").
func WithSignatureAlgorithm(alg string) TransitOption {
	return func(m map[string]any) { m["signature_algorithm"] = alg }
}

// WithPrehashed says the input of sign or verify is already a digest.
func WithPrehashed() TransitOption { return func(m map[string]any) { m["prehashed"] = true } }

// TransitCiphertext is the answer of encrypt and rewrap.
type TransitCiphertext struct {
	// Ciphertext is "vault:v<version>:<base64>".
	Ciphertext string `json:"ciphertext"`
	KeyVersion int    `json:"key_version"`
}

// TransitSignature is the answer of sign.
type TransitSignature struct {
	// Signature is "vault:v<version>:<base64>".
	Signature  string `json:"signature"`
	KeyVersion int    `json:"key_version"`
	// PublicKey is set for ed25519 keys (base64).
	PublicKey string `json:"public_key,omitempty"`
}

// Encrypt encrypts plaintext with key (PUT mount/encrypt/:key).
func (t *Transit) Encrypt(ctx context.Context, key string, plaintext []byte, opts ...TransitOption) (*TransitCiphertext, error) {
	var out TransitCiphertext
	body := transitBody(opts, "plaintext", base64.StdEncoding.EncodeToString(plaintext))
	if err := t.op(ctx, "encrypt", key, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Decrypt decrypts ciphertext with key (PUT mount/decrypt/:key). The
// plaintext never appears in an error.
func (t *Transit) Decrypt(ctx context.Context, key, ciphertext string, opts ...TransitOption) ([]byte, error) {
	var out struct {
		Plaintext string `json:"plaintext"`
	}
	if err := t.op(ctx, "decrypt", key, transitBody(opts, "ciphertext", ciphertext), &out); err != nil {
		return nil, err
	}
	pt, err := base64.StdEncoding.DecodeString(out.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("transit decrypt %s: the answer's plaintext is not base64", key)
	}
	return pt, nil
}

// Rewrap re-encrypts ciphertext with the latest (or WithKeyVersion)
// version of key without revealing the plaintext (PUT mount/rewrap/:key).
func (t *Transit) Rewrap(ctx context.Context, key, ciphertext string, opts ...TransitOption) (*TransitCiphertext, error) {
	var out TransitCiphertext
	if err := t.op(ctx, "rewrap", key, transitBody(opts, "ciphertext", ciphertext), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Sign signs input with key (PUT mount/sign/:key).
func (t *Transit) Sign(ctx context.Context, key string, input []byte, opts ...TransitOption) (*TransitSignature, error) {
	var out TransitSignature
	if err := t.op(ctx, "sign", key, transitBody(opts, "input", base64.StdEncoding.EncodeToString(input)), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Verify reports whether signature is key's signature of input (PUT
// mount/verify/:key). A signature that does not verify is (false, nil).
func (t *Transit) Verify(ctx context.Context, key string, input []byte, signature string, opts ...TransitOption) (bool, error) {
	var out struct {
		Valid bool `json:"valid"`
	}
	body := transitBody(opts, "input", base64.StdEncoding.EncodeToString(input))
	body["signature"] = signature
	if err := t.op(ctx, "verify", key, body, &out); err != nil {
		return false, err
	}
	return out.Valid, nil
}

func (t *Transit) op(ctx context.Context, op, key string, body map[string]any, out any) error {
	p, err := t.sub(op, "transit "+op, key)
	if err != nil {
		return err
	}
	_, err = t.call(ctx, "transit "+op+" "+key, request{method: http.MethodPut, path: p, body: body}, out)
	return err
}

// transitBody is the request body: the options plus one field.
func transitBody(opts []TransitOption, key, value string) map[string]any {
	body := map[string]any{key: value}
	for _, o := range opts {
		if o != nil {
			o(body)
		}
	}
	return body
}
