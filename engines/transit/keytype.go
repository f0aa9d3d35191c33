package transit

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// keyType is a key's algorithm, spelled as Vault's "type" field.
type keyType string

// The key types served.
const (
	typeAES256    keyType = "aes256-gcm96"
	typeChaCha    keyType = "chacha20-poly1305"
	typeEd25519   keyType = "ed25519"
	typeECDSAP256 keyType = "ecdsa-p256"
	typeRSA2048   keyType = "rsa-2048"
	typeRSA4096   keyType = "rsa-4096"
)

func (t keyType) valid() bool {
	switch t {
	case typeAES256, typeChaCha, typeEd25519, typeECDSAP256, typeRSA2048, typeRSA4096:
		return true
	}
	return false
}

func (t keyType) symmetric() bool { return t == typeAES256 || t == typeChaCha }
func (t keyType) isRSA() bool     { return t == typeRSA2048 || t == typeRSA4096 }
func (t keyType) encryption() bool {
	return t.symmetric() || t.isRSA()
}
func (t keyType) signing() bool {
	return t == typeEd25519 || t == typeECDSAP256 || t.isRSA()
}
func (t keyType) derivation() bool { return t.symmetric() || t == typeEd25519 }

// hashesInput: the signature is over a digest of the input (the hash
// is computed here unless the input is prehashed).
func (t keyType) hashesInput() bool { return t == typeECDSAP256 || t.isRSA() }

// newEntry generates one key version.
func (t keyType) newEntry(rnd io.Reader, derived bool) (*keyEntry, error) {
	e := &keyEntry{HMACKey: make([]byte, 32)}
	if _, err := io.ReadFull(rnd, e.HMACKey); err != nil {
		return nil, fmt.Errorf("%w: random: %w", ErrInternal, err)
	}
	var err error
	switch {
	case t.symmetric() || (t == typeEd25519 && derived):
		e.Key = make([]byte, 32)
		_, err = io.ReadFull(rnd, e.Key)
	case t == typeEd25519:
		_, e.Key, err = ed25519.GenerateKey(rnd)
	case t == typeECDSAP256:
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(elliptic.P256(), rnd); err == nil {
			e.PrivateKey, err = x509.MarshalPKCS8PrivateKey(k)
		}
	case t.isRSA():
		bits := 2048
		if t == typeRSA4096 {
			bits = 4096
		}
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rnd, bits); err == nil {
			e.PrivateKey, err = x509.MarshalPKCS8PrivateKey(k)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: generate %s key: %w", ErrInternal, t, err)
	}
	return e, nil
}

// version is one decoded key version.
type version struct {
	entry *keyEntry
	// aead is the cipher of a non-derived symmetric key.
	aead cipher.AEAD
	// signer is the private key of a non-derived signing key
	// (ed25519.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey).
	signer crypto.Signer
	// public is the formatted public key Vault shows (base64 for
	// ed25519, PEM for ecdsa and rsa); "" for symmetric and derived keys.
	public string
}

// decodeVersion parses e for a key of type t.
func decodeVersion(t keyType, derived bool, e *keyEntry) (*version, error) {
	v := &version{entry: e}
	var err error
	switch {
	case derived:
	case t.symmetric():
		v.aead, err = newAEAD(t, e.Key)
	case t == typeEd25519:
		if len(e.Key) != ed25519.PrivateKeySize {
			return nil, ErrCorrupt
		}
		k := ed25519.PrivateKey(e.Key)
		v.signer = k
		v.public = base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
	default:
		v.signer, v.public, err = parsePrivate(t, e.PrivateKey)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// parsePrivate parses a PKCS#8 ecdsa or rsa key of type t.
func parsePrivate(t keyType, der []byte) (crypto.Signer, string, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, "", ErrCorrupt
	}
	var s crypto.Signer
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if t != typeECDSAP256 {
			return nil, "", ErrCorrupt
		}
		s = k
	case *rsa.PrivateKey:
		if !t.isRSA() {
			return nil, "", ErrCorrupt
		}
		s = k
	default:
		return nil, "", ErrCorrupt
	}
	pub, err := publicPEM(s.Public())
	if err != nil {
		return nil, "", err
	}
	return s, pub, nil
}

// publicPEM is the PKIX "PUBLIC KEY" PEM of pub.
func publicPEM(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: marshal public key: %w", ErrInternal, err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// newAEAD is the cipher of a symmetric key: AES-256-GCM with a 12-byte
// nonce, or ChaCha20-Poly1305.
func newAEAD(t keyType, key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, ErrCorrupt
	}
	if t == typeChaCha {
		return chacha20poly1305.New(key)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, ErrCorrupt
	}
	return cipher.NewGCM(block)
}
