package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sync"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// keySpec is a requested key type and size.
type keySpec struct {
	Type string
	Bits int
}

// resolveKeySpec checks a key_type/key_bits pair and fills Vault's
// default size (rsa 2048, ec 256). Errors name field keyTypeField or
// "key_bits".
func resolveKeySpec(keyType string, bits int, allowAny bool) (keySpec, error) {
	switch keyType {
	case "", "rsa":
		if bits == 0 {
			bits = 2048
		}
		if bits != 2048 && bits != 3072 && bits != 4096 && bits != 8192 {
			return keySpec{}, logical.InvalidRequest("key_bits", "unsupported bit length for RSA key: %d", bits)
		}
		return keySpec{Type: "rsa", Bits: bits}, nil
	case "ec":
		if bits == 0 {
			bits = 256
		}
		if curve(bits) == nil {
			return keySpec{}, logical.InvalidRequest("key_bits", "unsupported bit length for EC key: %d", bits)
		}
		return keySpec{Type: "ec", Bits: bits}, nil
	case "ed25519":
		return keySpec{Type: "ed25519"}, nil
	case "any":
		if allowAny {
			return keySpec{Type: "any", Bits: bits}, nil
		}
	}
	return keySpec{}, logical.InvalidRequest("key_type", "unknown key type %q", keyType)
}

func curve(bits int) elliptic.Curve {
	switch bits {
	case 224:
		return elliptic.P224()
	case 256:
		return elliptic.P256()
	case 384:
		return elliptic.P384()
	case 521:
		return elliptic.P521()
	}
	return nil
}

// generateKey makes a fresh private key of spec.
func generateKey(spec keySpec) (crypto.Signer, error) {
	var (
		k   crypto.Signer
		err error
	)
	switch spec.Type {
	case "rsa":
		k, err = rsa.GenerateKey(rand.Reader, spec.Bits)
	case "ec":
		k, err = ecdsa.GenerateKey(curve(spec.Bits), rand.Reader)
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, logical.InvalidRequest("key_type", "unknown key type %q", spec.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("pki: generate %s key: %w", spec.Type, err)
	}
	return k, nil
}

// keyTypeOf names a key's type as Vault does ("rsa", "ec", "ed25519").
func keyTypeOf(pub crypto.PublicKey) (string, int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "rsa", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ec", k.Params().BitSize
	case ed25519.PublicKey:
		return "ed25519", 0
	}
	return "", 0
}

// pkcs8PEM encodes a key as PKCS#8 PEM (the storage form).
func pkcs8PEM(k crypto.Signer) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", fmt.Errorf("pki: encode key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// exportPEM encodes a key as Vault returns it: private_key_format "der"
// (the default, PEM-wrapped) gives PKCS#1 for RSA, SEC1 for EC and
// PKCS#8 for Ed25519; "pkcs8" gives PKCS#8 for all.
func exportPEM(k crypto.Signer, format string) (string, error) {
	if format == "pkcs8" {
		return pkcs8PEM(k)
	}
	switch key := k.(type) {
	case *rsa.PrivateKey:
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return "", fmt.Errorf("pki: encode key: %w", err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), nil
	}
	return pkcs8PEM(k)
}

// checkKeyFormat validates private_key_format.
func checkKeyFormat(f string) error {
	switch f {
	case "", "der", "pem", "pkcs8":
		return nil
	}
	return logical.InvalidRequest("private_key_format", "unknown format %q (der, pem or pkcs8)", f)
}

// parseStoredKey decodes a keyEntry's PKCS#8 PEM.
func parseStoredKey(k *keyEntry) (crypto.Signer, error) {
	blk, _ := pem.Decode([]byte(k.PrivateKey))
	if blk == nil {
		return nil, fmt.Errorf("%w: key %s", ErrCorrupt, k.ID)
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: key %s", ErrCorrupt, k.ID)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: key %s", ErrCorrupt, k.ID)
	}
	return s, nil
}

// signer is an issuer ready to sign: its certificate and key.
type signer struct {
	entry *issuerEntry
	cert  *x509.Certificate
	key   crypto.Signer
}

// signerCache keeps parsed issuers by id, so that issuing does not
// parse the CA and its key on every request. An entry is used only
// while the stored issuer's certificate and key id are unchanged.
type signerCache struct {
	mu sync.Mutex
	m  map[string]*signer
}

func (c *signerCache) init() { c.m = make(map[string]*signer) }

func (c *signerCache) get(is *issuerEntry) *signer {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.m[is.ID]
	if s == nil || s.entry.Certificate != is.Certificate || s.entry.KeyID != is.KeyID {
		return nil
	}
	// The entry's other fields (name, chain, behavior) may have changed.
	return &signer{entry: is, cert: s.cert, key: s.key}
}

func (c *signerCache) put(s *signer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[s.entry.ID] = s
}

func (c *signerCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}
