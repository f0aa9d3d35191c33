package transit

import (
	"crypto"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// versionPrefix opens every ciphertext, signature and HMAC: Vault's
// "vault:v<N>:" template.
const versionPrefix = "vault:v"

// errTooOld is Vault's wording for a version below min_decryption_version.
const errTooOld = "ciphertext or signature version is disallowed by policy (too old)"

// missingContext is Vault's wording for a derived key used without context.
const missingContext = "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key"

// format renders body as version n's vault:v<N>:<body>.
func format(n int, body string) string {
	return versionPrefix + strconv.Itoa(n) + ":" + body
}

// parseVersioned splits vault:v<N>:<body> (field names the input).
func parseVersioned(field, s string) (int, string, error) {
	rest, ok := strings.CutPrefix(s, versionPrefix)
	if !ok {
		return 0, "", logical.InvalidRequest(field, "invalid %s: no prefix", field)
	}
	num, body, ok := strings.Cut(rest, ":")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 {
		return 0, "", logical.InvalidRequest(field, "invalid %s: version number could not be decoded", field)
	}
	return n, body, nil
}

// useVersion resolves a requested version for a new ciphertext,
// signature or HMAC (what names it in messages): 0 is the latest.
func (k *key) useVersion(ver int, what string) (int, *version, error) {
	p := k.p
	switch {
	case ver == 0:
		ver = p.LatestVersion
	case ver < 0:
		return 0, nil, logical.InvalidRequest("key_version", "requested version for %s is negative", what)
	case ver > p.LatestVersion:
		return 0, nil, logical.InvalidRequest("key_version", "requested version for %s is higher than the latest key version", what)
	case p.MinEncryptionVersion > 0 && ver < p.MinEncryptionVersion:
		return 0, nil, logical.InvalidRequest("key_version", "requested version for %s is less than the minimum encryption key version", what)
	}
	v := k.versions[ver]
	if v == nil {
		return 0, nil, logical.InvalidRequest("key_version", "requested version for %s has been trimmed", what)
	}
	return ver, v, nil
}

// readVersion resolves the version of an existing ciphertext,
// signature or HMAC.
func (k *key) readVersion(ver int, field string) (*version, error) {
	switch {
	case ver < k.p.MinDecryptionVersion || k.versions[ver] == nil && ver <= k.p.LatestVersion:
		return nil, logical.InvalidRequest(field, errTooOld)
	case ver > k.p.LatestVersion:
		return nil, logical.InvalidRequest(field, "invalid %s: version is too new", field)
	}
	return k.versions[ver], nil
}

// derive is the HKDF-SHA256 key of v for context.
func (k *key) derive(v *version, context []byte) ([]byte, error) {
	if len(context) == 0 {
		return nil, logical.InvalidRequest("context", missingContext)
	}
	out, err := hkdf.Key(sha256.New, v.entry.Key, nil, string(context), 32)
	if err != nil {
		return nil, fmt.Errorf("%w: derive key: %w", ErrInternal, err)
	}
	return out, nil
}

// aead is the cipher of symmetric version v for context.
func (k *key) aead(v *version, context []byte) (cipher.AEAD, error) {
	if !k.p.Derived {
		return v.aead, nil
	}
	dk, err := k.derive(v, context)
	if err != nil {
		return nil, err
	}
	return newAEAD(k.p.Type, dk)
}

// encrypt seals plaintext with version ver (0: latest).
func (k *key) encrypt(rnd io.Reader, ver int, context, plaintext []byte) (string, int, error) {
	if !k.p.Type.encryption() {
		return "", 0, logical.InvalidRequest("name", "key type %s does not support encryption", k.p.Type)
	}
	n, v, err := k.useVersion(ver, "encryption")
	if err != nil {
		return "", 0, err
	}
	var out []byte
	if k.p.Type.isRSA() {
		pub := &v.signer.(*rsa.PrivateKey).PublicKey
		if out, err = rsa.EncryptOAEP(sha256.New(), rnd, pub, plaintext, nil); err != nil {
			return "", 0, logical.InvalidRequest("plaintext", "failed to RSA encrypt the plaintext: %v", err)
		}
	} else {
		a, err := k.aead(v, context)
		if err != nil {
			return "", 0, err
		}
		nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
		if _, err := io.ReadFull(rnd, nonce); err != nil {
			return "", 0, fmt.Errorf("%w: random: %w", ErrInternal, err)
		}
		out = a.Seal(nonce, nonce, plaintext, nil)
	}
	return format(n, base64.StdEncoding.EncodeToString(out)), n, nil
}

// decrypt opens a vault:v<N>: ciphertext.
func (k *key) decrypt(rnd io.Reader, context []byte, ciphertext string) ([]byte, int, error) {
	if !k.p.Type.encryption() {
		return nil, 0, logical.InvalidRequest("name", "key type %s does not support decryption", k.p.Type)
	}
	n, body, err := parseVersioned("ciphertext", ciphertext)
	if err != nil {
		return nil, 0, err
	}
	v, err := k.readVersion(n, "ciphertext")
	if err != nil {
		return nil, 0, err
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, 0, logical.InvalidRequest("ciphertext", "invalid ciphertext: could not decode base64")
	}
	if k.p.Type.isRSA() {
		pt, err := rsa.DecryptOAEP(sha256.New(), rnd, v.signer.(*rsa.PrivateKey), raw, nil)
		if err != nil {
			return nil, 0, logical.InvalidRequest("ciphertext", "failed to RSA decrypt the ciphertext")
		}
		return pt, n, nil
	}
	a, err := k.aead(v, context)
	if err != nil {
		return nil, 0, err
	}
	if len(raw) < a.NonceSize()+a.Overhead() {
		return nil, 0, logical.InvalidRequest("ciphertext", "invalid ciphertext: too short")
	}
	pt, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], nil)
	if err != nil {
		return nil, 0, logical.InvalidRequest("ciphertext", "cipher: message authentication failed")
	}
	return pt, n, nil
}

// signOpts are a signature's parameters; hash 0 is "none".
type signOpts struct {
	hash       crypto.Hash
	rsaPSS     bool
	marshalJWS bool
}

// signer is version v's private key (derived for context when the key
// is a derived ed25519).
func (k *key) signer(v *version, context []byte) (crypto.Signer, error) {
	if !k.p.Derived {
		return v.signer, nil
	}
	seed, err := k.derive(v, context)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// sign signs input (the digest for ecdsa and rsa) with version ver.
func (k *key) sign(rnd io.Reader, ver int, context, input []byte, o signOpts) (string, int, crypto.PublicKey, error) {
	if !k.p.Type.signing() {
		return "", 0, nil, logical.InvalidRequest("name", "key type %s does not support signing", k.p.Type)
	}
	n, v, err := k.useVersion(ver, "signing")
	if err != nil {
		return "", 0, nil, err
	}
	s, err := k.signer(v, context)
	if err != nil {
		return "", 0, nil, err
	}
	var sig []byte
	switch s := s.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(s, input)
	case *ecdsa.PrivateKey:
		sig, err = signECDSA(rnd, s, input, o.marshalJWS)
	case *rsa.PrivateKey:
		if o.rsaPSS {
			sig, err = rsa.SignPSS(rnd, s, o.hash, input, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		} else {
			sig, err = rsa.SignPKCS1v15(rnd, s, o.hash, input)
		}
	}
	if err != nil {
		return "", 0, nil, logical.InvalidRequest("input", "failed to sign the input: %v", err)
	}
	enc := base64.StdEncoding.EncodeToString(sig)
	if o.marshalJWS {
		enc = base64.RawURLEncoding.EncodeToString(sig)
	}
	return format(n, enc), n, s.Public(), nil
}

func signECDSA(rnd io.Reader, k *ecdsa.PrivateKey, digest []byte, jws bool) ([]byte, error) {
	if !jws {
		return ecdsa.SignASN1(rnd, k, digest)
	}
	r, s, err := ecdsa.Sign(rnd, k, digest)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}

// verify checks a vault:v<N>: signature over input (the digest for
// ecdsa and rsa).
func (k *key) verify(context, input []byte, signature string, o signOpts) (bool, error) {
	if !k.p.Type.signing() {
		return false, logical.InvalidRequest("name", "key type %s does not support verification", k.p.Type)
	}
	n, body, err := parseVersioned("signature", signature)
	if err != nil {
		return false, err
	}
	v, err := k.readVersion(n, "signature")
	if err != nil {
		return false, err
	}
	dec := base64.StdEncoding
	if o.marshalJWS {
		dec = base64.RawURLEncoding
	}
	sig, err := dec.DecodeString(body)
	if err != nil {
		return false, logical.InvalidRequest("signature", "invalid base64 signature value")
	}
	s, err := k.signer(v, context)
	if err != nil {
		return false, err
	}
	switch pub := s.Public().(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(pub, input, sig), nil
	case *ecdsa.PublicKey:
		if !o.marshalJWS {
			return ecdsa.VerifyASN1(pub, input, sig), nil
		}
		if len(sig) != 64 {
			return false, nil
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub, input, r, s), nil
	case *rsa.PublicKey:
		if o.rsaPSS {
			return rsa.VerifyPSS(pub, o.hash, input, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil, nil
		}
		return rsa.VerifyPKCS1v15(pub, o.hash, input, sig) == nil, nil
	}
	return false, fmt.Errorf("%w: key %q has no public key", ErrInternal, k.p.Name)
}

// hmac is the vault:v<N>: HMAC of input with version ver's HMAC key.
func (k *key) hmac(ver int, h crypto.Hash, input []byte) (string, int, error) {
	p := k.p
	switch {
	case ver == 0:
		ver = p.LatestVersion
	case ver < 0 || ver > p.LatestVersion:
		return "", 0, logical.InvalidRequest("key_version", "key version does not exist; latest key version is %d", p.LatestVersion)
	case ver < p.MinEncryptionVersion || k.versions[ver] == nil:
		return "", 0, logical.InvalidRequest("key_version", "cannot generate HMAC: version is too old (disallowed by policy)")
	}
	m := hmac.New(h.New, k.versions[ver].entry.HMACKey)
	m.Write(input)
	return format(ver, base64.StdEncoding.EncodeToString(m.Sum(nil))), ver, nil
}

// verifyHMAC checks a vault:v<N>: HMAC of input.
func (k *key) verifyHMAC(h crypto.Hash, input []byte, mac string) (bool, error) {
	n, body, err := parseVersioned("hmac", mac)
	if err != nil {
		return false, err
	}
	v, err := k.readVersion(n, "hmac")
	if err != nil {
		return false, err
	}
	want, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return false, logical.InvalidRequest("hmac", "invalid hmac: could not decode base64")
	}
	m := hmac.New(h.New, v.entry.HMACKey)
	m.Write(input)
	return hmac.Equal(m.Sum(nil), want), nil
}
