package ssh

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Key families, as allowed_user_key_lengths and key_type name them.
const (
	familyRSA     = "rsa"
	familyECDSA   = "ecdsa"
	familyEd25519 = "ed25519"
)

// RSA key sizes generate accepts: Vault's floor and default, and a
// ceiling that keeps one request from pinning a core for minutes.
const (
	minRSABits     = 2048
	defaultRSABits = 4096
	maxRSABits     = 8192
)

// keySpec is a key pair to generate: a family and its size (RSA
// modulus bits or ECDSA curve bits; 0 for ed25519).
type keySpec struct {
	family string
	bits   int
}

// parseKeySpec resolves a key_type and key_bits as Vault does: an
// OpenSSH key type name (ssh-rsa, ecdsa-sha2-nistp256, ssh-ed25519) or
// an algorithm (rsa, ec, ecdsa, ed25519); key_bits 0 is the family's
// default (4096-bit RSA, P-256). Errors name typeField or bitsField.
func parseKeySpec(keyType string, bits int, typeField, bitsField string) (keySpec, error) {
	switch strings.ToLower(keyType) {
	case ssh.KeyAlgoRSA, "rsa":
		if bits == 0 {
			bits = defaultRSABits
		}
		if bits < minRSABits {
			return keySpec{}, logical.InvalidRequest(bitsField, "refusing to generate weak rsa key: %d bits < %d bits", bits, minRSABits)
		}
		if bits > maxRSABits {
			return keySpec{}, logical.InvalidRequest(bitsField, "refusing to generate rsa key of %d bits: at most %d", bits, maxRSABits)
		}
		return keySpec{familyRSA, bits}, nil
	case ssh.KeyAlgoECDSA256:
		return keySpec{familyECDSA, 256}, nil
	case ssh.KeyAlgoECDSA384:
		return keySpec{familyECDSA, 384}, nil
	case ssh.KeyAlgoECDSA521:
		return keySpec{familyECDSA, 521}, nil
	case "ec", "ecdsa":
		switch bits {
		case 0, 256:
			return keySpec{familyECDSA, 256}, nil
		case 384, 521:
			return keySpec{familyECDSA, bits}, nil
		}
		return keySpec{}, logical.InvalidRequest(bitsField, "unknown ECDSA key pair algorithm and bits: %s / %d", keyType, bits)
	case ssh.KeyAlgoED25519, "ed25519":
		return keySpec{familyEd25519, 0}, nil
	}
	return keySpec{}, logical.InvalidRequest(typeField, "unknown ssh key pair algorithm: %q", keyType)
}

// curve is the ECDSA curve of bits.
func curve(bits int) elliptic.Curve {
	switch bits {
	case 384:
		return elliptic.P384()
	case 521:
		return elliptic.P521()
	}
	return elliptic.P256()
}

// generateKey makes a key pair: its private key as PEM (PKCS#1 for RSA,
// SEC 1 for ECDSA, OpenSSH for ed25519, as Vault returns them) and its
// public key as an authorized_keys line.
func generateKey(spec keySpec) (privPEM, pubLine string, err error) {
	var (
		priv  crypto.Signer
		block *pem.Block
	)
	switch spec.family {
	case familyRSA:
		k, err := rsa.GenerateKey(rand.Reader, spec.bits)
		if err != nil {
			return "", "", fmt.Errorf("ssh: generate rsa key: %w", err)
		}
		priv, block = k, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	case familyECDSA:
		k, err := ecdsa.GenerateKey(curve(spec.bits), rand.Reader)
		if err != nil {
			return "", "", fmt.Errorf("ssh: generate ecdsa key: %w", err)
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", "", fmt.Errorf("ssh: encode ecdsa key: %w", err)
		}
		priv, block = k, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case familyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", "", fmt.Errorf("ssh: generate ed25519 key: %w", err)
		}
		if block, err = ssh.MarshalPrivateKey(k, ""); err != nil {
			return "", "", fmt.Errorf("ssh: encode ed25519 key: %w", err)
		}
		priv = k
	default:
		return "", "", fmt.Errorf("ssh: unknown key family %q", spec.family)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return "", "", fmt.Errorf("ssh: encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(block)), string(ssh.MarshalAuthorizedKey(pub)), nil
}

// parsePublicKey parses a public key sent by a client: an
// authorized_keys line ("ssh-ed25519 AAAA... comment") or its base64
// part alone, as Vault accepts. A certificate is refused. Errors name
// field and never quote the input.
func parsePublicKey(field, s string) (ssh.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, logical.InvalidRequest(field, "missing %s", field)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		raw, derr := base64.StdEncoding.DecodeString(s)
		if derr != nil {
			return nil, logical.InvalidRequest(field, "failed to parse %s as SSH key", field)
		}
		if pub, err = ssh.ParsePublicKey(raw); err != nil {
			return nil, logical.InvalidRequest(field, "failed to parse %s as SSH key: %v", field, err)
		}
	}
	if _, isCert := pub.(*ssh.Certificate); isCert {
		return nil, logical.InvalidRequest(field, "%s must be a public key, not a certificate", field)
	}
	return pub, nil
}

// keyFamily names a public key's family and size (RSA modulus bits,
// ECDSA curve bits, 0 otherwise); a key of another kind (security key,
// DSA) is named by its SSH type.
func keyFamily(pub ssh.PublicKey) (family string, bits int) {
	if ck, ok := pub.(ssh.CryptoPublicKey); ok {
		switch k := ck.CryptoPublicKey().(type) {
		case *rsa.PublicKey:
			return familyRSA, k.N.BitLen()
		case *ecdsa.PublicKey:
			return familyECDSA, k.Curve.Params().BitSize
		case ed25519.PublicKey:
			return familyEd25519, 0
		}
	}
	return pub.Type(), 0
}
