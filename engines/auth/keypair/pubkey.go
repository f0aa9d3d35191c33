package keypair

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// sshKeyType is the OpenSSH name of Ed25519 keys.
const sshKeyType = "ssh-ed25519"

// ParsePublicKey parses an Ed25519 public key in one of the accepted
// forms: an OpenSSH authorized_keys line ("ssh-ed25519 AAAA..." with an
// optional comment, no options), a PEM "PUBLIC KEY" block (PKIX), or the
// raw 32 bytes in standard base64 (padded or not). Keys of other types,
// trailing data and small-order points (which would let anyone forge a
// signature) are refused. Errors are logical.InvalidRequestErrors on the
// public_key field; they never repeat the input.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	var (
		key ed25519.PublicKey
		err error
	)
	switch {
	case s == "":
		return nil, badKey("empty")
	case strings.HasPrefix(s, "-----BEGIN"):
		key, err = parsePEM(s)
	case strings.ContainsAny(s, " \t"):
		key, err = parseAuthorizedKey(s)
	default:
		key, err = parseRaw(s)
	}
	if err != nil {
		return nil, err
	}
	if isSmallOrder(key) {
		return nil, badKey("not a usable Ed25519 key (small-order point)")
	}
	return key, nil
}

func badKey(format string, args ...any) error {
	return logical.InvalidRequest("public_key", format, args...)
}

func parsePEM(s string) (ed25519.PublicKey, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return nil, badKey("malformed PEM")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, badKey("PEM block is %q, want \"PUBLIC KEY\"", truncate(block.Type, 32))
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, badKey("data after the PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, badKey("malformed PKIX public key")
	}
	key, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, badKey("not an Ed25519 key")
	}
	return key, nil
}

func parseAuthorizedKey(s string) (ed25519.PublicKey, error) {
	fields := strings.Fields(s)
	if fields[0] != sshKeyType {
		return nil, badKey("OpenSSH key type must be %s", sshKeyType)
	}
	if len(fields) < 2 {
		return nil, badKey("OpenSSH line holds no key")
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return nil, badKey("OpenSSH key is not base64")
	}
	return parseSSHWire(blob)
}

// parseSSHWire parses the SSH wire form of an Ed25519 key (RFC 8709):
// string "ssh-ed25519", string key (32 bytes), nothing after.
func parseSSHWire(blob []byte) (ed25519.PublicKey, error) {
	typ, rest, ok := sshString(blob)
	if !ok || string(typ) != sshKeyType {
		return nil, badKey("OpenSSH key blob is not %s", sshKeyType)
	}
	key, rest, ok := sshString(rest)
	if !ok || len(key) != ed25519.PublicKeySize || len(rest) != 0 {
		return nil, badKey("malformed OpenSSH key blob")
	}
	return ed25519.PublicKey(bytes.Clone(key)), nil
}

// sshString splits one length-prefixed SSH string off b.
func sshString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

func parseRaw(s string) (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, badKey("not an OpenSSH line, a PEM block or base64")
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, badKey("raw key is %d bytes, want %d", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// sshWire is the SSH wire form of key.
func sshWire(key ed25519.PublicKey) []byte {
	out := make([]byte, 0, 4+len(sshKeyType)+4+len(key))
	out = binary.BigEndian.AppendUint32(out, uint32(len(sshKeyType)))
	out = append(out, sshKeyType...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(key)))
	return append(out, key...)
}

// AuthorizedKey formats key as an OpenSSH authorized_keys line without a
// comment: "ssh-ed25519 AAAA...".
func AuthorizedKey(key ed25519.PublicKey) string {
	return sshKeyType + " " + base64.StdEncoding.EncodeToString(sshWire(key))
}

// Fingerprint is key's OpenSSH SHA-256 fingerprint, "SHA256:" and the
// unpadded base64 of the SHA-256 of its wire form, as `ssh-keygen -l`
// prints it.
func Fingerprint(key ed25519.PublicKey) string {
	sum := sha256.Sum256(sshWire(key))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// smallOrderY are the y coordinates (little-endian hex, sign bit clear)
// of the eight points of order dividing 8, with the non-canonical
// encodings y+p of y = 0 and y = 1. A public key that is one of these
// points accepts forged signatures (for the identity, R = identity and
// S = 0 verify for every message), so it is refused whatever its sign
// bit.
var smallOrderY = func() [][32]byte {
	encs := []string{
		"0100000000000000000000000000000000000000000000000000000000000000", // identity (0, 1)
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p+1: non-canonical 1
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // (0, -1), order 2
		"0000000000000000000000000000000000000000000000000000000000000000", // (±sqrt(-1), 0), order 4
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p: non-canonical 0
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	}
	out := make([][32]byte, len(encs))
	for i, e := range encs {
		if n, err := hex.Decode(out[i][:], []byte(e)); err != nil || n != 32 {
			panic("keypair: bad small-order table")
		}
	}
	return out
}()

// isSmallOrder reports whether key encodes a point of small order.
func isSmallOrder(key ed25519.PublicKey) bool {
	var y [32]byte
	copy(y[:], key)
	y[31] &^= 0x80
	for _, bad := range smallOrderY {
		if y == bad {
			return true
		}
	}
	return false
}

// truncate cuts s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
