package transit_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// exportKey returns version 1 of an export.
func (h *harness) exportKey(kind, name string) string {
	h.t.Helper()
	return h.must(logical.ReadOperation, "export/"+kind+"/"+name+"/1", nil).Data["keys"].(map[string]string)["1"]
}

// Vault's ciphertext layout, vault:v<N>:base64(nonce || ciphertext ||
// tag), proved both ways with the standard library and an exported key.
func TestVaultCiphertextLayout(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"aes256-gcm96", "chacha20-poly1305"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.write("keys/k", map[string]any{"type": typ, "exportable": true})
			raw := unb64(t, h.exportKey("encryption-key", "k"))
			var aead cipher.AEAD
			var err error
			if typ == "aes256-gcm96" {
				block, _ := aes.NewCipher(raw)
				aead, err = cipher.NewGCM(block)
			} else {
				aead, err = chacha20poly1305.New(raw)
			}
			if err != nil {
				t.Fatal(err)
			}
			// Built by hand, as Vault builds it: decrypts here.
			nonce := []byte("0123456789ab")
			vaultCT := "vault:v1:" + base64.StdEncoding.EncodeToString(aead.Seal(bytes.Clone(nonce), nonce, secret, nil))
			if got := h.decrypt("k", vaultCT, nil); !bytes.Equal(got, secret) {
				t.Fatalf("hand-made ciphertext decrypts to %q", got)
			}
			// Made here: opens by hand.
			body := unb64(t, strings.TrimPrefix(h.encrypt("k", secret, nil), "vault:v1:"))
			if len(body) != 12+len(secret)+16 {
				t.Fatalf("ciphertext of %d bytes, want nonce+plaintext+tag = %d", len(body), 12+len(secret)+16)
			}
			got, err := aead.Open(nil, body[:12], body[12:], nil)
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("open by hand: %q, %v", got, err)
			}
		})
	}
}

// A derived key's per-context key is Vault's: HKDF-SHA256 of the
// version's key with no salt and the context as info (computed here
// with x/crypto's hkdf, the implementation Vault uses).
func TestDerivedKeyIsVaultsHKDF(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/d", map[string]any{"derived": true, "exportable": true})
	base := unb64(t, h.exportKey("encryption-key", "d"))
	context := []byte("customer-42")
	dk := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, base, nil, context), dk); err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(dk)
	aead, _ := cipher.NewGCM(block)
	nonce := []byte("nonce-12byte")
	ct := "vault:v1:" + base64.StdEncoding.EncodeToString(aead.Seal(bytes.Clone(nonce), nonce, secret, nil))
	if got := h.decrypt("d", ct, map[string]any{"context": b64(context)}); !bytes.Equal(got, secret) {
		t.Fatalf("decrypt = %q", got)
	}
}

func openssl(t *testing.T, args ...string) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is required (apt-get install openssl; .ci/run installs it)")
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sigBytes is the raw signature of a vault:v1: signature.
func sigBytes(t *testing.T, sig string) []byte {
	t.Helper()
	rest, ok := strings.CutPrefix(sig, "vault:v1:")
	if !ok {
		t.Fatalf("signature %q", sig)
	}
	return unb64(t, rest)
}

// openssl verifies the engine's signatures with the exported public key.
func TestOpenSSLVerifiesSignatures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, typ string
		opts      map[string]any
		// args are openssl's, after the key, signature and input paths
		// are substituted for PUB, SIG and IN.
		args []string
	}{
		{"ed25519", "ed25519", nil, []string{"pkeyutl", "-verify", "-pubin", "-inkey", "PUB", "-rawin", "-in", "IN", "-sigfile", "SIG"}},
		{"ecdsa-sha256", "ecdsa-p256", nil, []string{"dgst", "-sha256", "-verify", "PUB", "-signature", "SIG", "IN"}},
		{"ecdsa-sha384", "ecdsa-p256", map[string]any{"hash_algorithm": "sha2-384"}, []string{"dgst", "-sha384", "-verify", "PUB", "-signature", "SIG", "IN"}},
		{"rsa-pkcs1v15", "rsa-2048", map[string]any{"signature_algorithm": "pkcs1v15"}, []string{"dgst", "-sha256", "-verify", "PUB", "-signature", "SIG", "IN"}},
		{"rsa-pss", "rsa-2048", map[string]any{"signature_algorithm": "pss"}, []string{"dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:auto", "-verify", "PUB", "-signature", "SIG", "IN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.write("keys/k", map[string]any{"type": tc.typ})
			pub := h.exportKey("public-key", "k")
			if tc.typ == "ed25519" {
				der, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(unb64(t, pub)))
				if err != nil {
					t.Fatal(err)
				}
				pub = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			}
			dir := t.TempDir()
			paths := map[string]string{
				"PUB": writeFile(t, dir, "pub.pem", []byte(pub)),
				"IN":  writeFile(t, dir, "in", secret),
				"SIG": writeFile(t, dir, "sig", sigBytes(t, h.sign("k", secret, tc.opts))),
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				if p, ok := paths[a]; ok {
					a = p
				}
				args[i] = a
			}
			openssl(t, args...)
			// And a signature over other input does not verify.
			writeFile(t, dir, "in", []byte("other input"))
			if err := exec.Command("openssl", args...).Run(); err == nil {
				t.Fatal("openssl verified a signature over other input")
			}
		})
	}
}

// openssl decrypts the engine's RSA ciphertext (OAEP with SHA-256)
// with the exported private key.
func TestOpenSSLDecryptsRSA(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/k", map[string]any{"type": "rsa-2048", "exportable": true})
	dir := t.TempDir()
	key := writeFile(t, dir, "key.pem", []byte(h.exportKey("encryption-key", "k")))
	ct := writeFile(t, dir, "ct", sigBytes(t, h.encrypt("k", secret, nil)))
	out := filepath.Join(dir, "pt")
	openssl(t, "pkeyutl", "-decrypt", "-inkey", key, "-in", ct, "-out", out,
		"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256")
	if got, _ := os.ReadFile(out); !bytes.Equal(got, secret) {
		t.Fatalf("openssl decrypted %q", got)
	}
}
