package keypair_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// TestSSHKeygenKey registers the .pub of a key made by the real
// `ssh-keygen -t ed25519`, checks the fingerprint against `ssh-keygen
// -l`, and logs in with the private half read from ssh-keygen's file.
func TestSSHKeygenKey(t *testing.T) {
	bin, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatal("this test needs ssh-keygen (.ci/run installs it: apt-get install openssh-client)")
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command(bin, "-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pubLine, err := os.ReadFile(keyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-l", "-E", "sha256", "-f", keyFile+".pub").Output()
	if err != nil {
		t.Fatalf("ssh-keygen -l: %v", err)
	}
	fields := strings.Fields(string(out)) // "256 SHA256:... alice@laptop (ED25519)"
	if len(fields) < 2 {
		t.Fatalf("ssh-keygen -l printed %q", out)
	}
	priv := readOpenSSHPrivateKey(t, keyFile)

	h := newHarness(t, nil)
	h.Must(logical.UpdateOperation, "keys/alice", map[string]any{"public_key": string(pubLine)})
	got := h.Must(logical.ReadOperation, "keys/alice", nil).Data
	if got["fingerprint"] != fields[1] {
		t.Fatalf("fingerprint = %v, ssh-keygen says %s", got["fingerprint"], fields[1])
	}
	if want := strings.Join(strings.Fields(string(pubLine))[:2], " "); got["public_key"] != want {
		t.Fatalf("public_key = %v, want %s", got["public_key"], want)
	}
	resp, err := h.Do(logical.UpdateOperation, "login", loginData(priv, testMount, "alice", h.nonce("alice"), stamp(h.Clock.Now())))
	if err != nil || resp.Auth == nil || resp.Auth.Alias.Name != "alice" {
		t.Fatalf("login with ssh-keygen's key = %v, %v", resp, err)
	}
}

// readOpenSSHPrivateKey parses an unencrypted "openssh-key-v1" file
// holding one Ed25519 key (PROTOCOL.key in OpenSSH's sources).
func readOpenSSHPrivateKey(t *testing.T, path string) ed25519.PrivateKey {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(text)
	if block == nil || block.Type != "OPENSSH PRIVATE KEY" {
		t.Fatal("not an OpenSSH private key file")
	}
	const magic = "openssh-key-v1\x00"
	b, ok := bytes.CutPrefix(block.Bytes, []byte(magic))
	if !ok {
		t.Fatal("no openssh-key-v1 magic")
	}
	next := func() []byte {
		t.Helper()
		if len(b) < 4 || int(binary.BigEndian.Uint32(b)) > len(b)-4 {
			t.Fatal("truncated OpenSSH key")
		}
		n := binary.BigEndian.Uint32(b)
		s := b[4 : 4+n]
		b = b[4+n:]
		return s
	}
	if cipher, kdf := string(next()), string(next()); cipher != "none" || kdf != "none" {
		t.Fatalf("encrypted key (%s, %s)", cipher, kdf)
	}
	next() // kdf options
	if len(b) < 4 || binary.BigEndian.Uint32(b) != 1 {
		t.Fatal("want exactly one key")
	}
	b = b[4:]
	next() // public key blob
	b = next()
	if len(b) < 8 || !bytes.Equal(b[:4], b[4:8]) {
		t.Fatal("check bytes differ")
	}
	b = b[8:]
	if typ := string(next()); typ != "ssh-ed25519" {
		t.Fatalf("key type %s", typ)
	}
	pub, sec := next(), next()
	if len(sec) != ed25519.PrivateKeySize || !bytes.Equal(sec[32:], pub) {
		t.Fatal("malformed Ed25519 private key")
	}
	priv := ed25519.NewKeyFromSeed(sec[:32])
	if !bytes.Equal(priv, sec) {
		t.Fatal("private key does not match its seed")
	}
	return priv
}
