package cli

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"strings"
)

// parsePublicKey reads an Ed25519 public key given as base64 (standard
// or URL alphabet, padded or not), 64 hex digits, a PEM "PUBLIC KEY"
// block, or "@file" holding one of those. Its errors are usage errors and
// never quote the key material.
func parsePublicKey(arg string) (ed25519.PublicKey, error) {
	what := "-public-key"
	text := arg
	if name, ok := strings.CutPrefix(arg, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, usagef("-public-key: reading the key file: %v", err)
		}
		what, text = "-public-key file "+displayFile(name), string(b)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, usagef("%s: empty key", what)
	}
	if strings.HasPrefix(text, "-----BEGIN") {
		return parsePEMPublicKey(what, []byte(text))
	}
	raw, ok := decodeKeyText(text)
	if !ok {
		return nil, usagef("%s: not base64, hex or PEM", what)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, usagef("%s: %d bytes, want a %d-byte Ed25519 public key", what, len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// decodeKeyText decodes 64 hex digits, else base64 in any of its four
// variants.
func decodeKeyText(s string) ([]byte, bool) {
	if len(s) == 2*ed25519.PublicKeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// parsePEMPublicKey reads a PEM "PUBLIC KEY" block holding an Ed25519
// key (PKIX, as openssl pkey -pubout writes it).
func parsePEMPublicKey(what string, b []byte) (ed25519.PublicKey, error) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, usagef("%s: malformed PEM", what)
	}
	if block.Type != "PUBLIC KEY" {
		return nil, usagef("%s: PEM block is %q, want \"PUBLIC KEY\"", what, block.Type)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, usagef("%s: more than one PEM block", what)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, usagef("%s: malformed public key: %v", what, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, usagef("%s: a %T, want an Ed25519 public key", what, k)
	}
	return pub, nil
}
