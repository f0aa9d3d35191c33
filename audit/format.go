package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Entry types of a log line.
const (
	TypeRequest    = "request"
	TypeResponse   = "response"
	TypeCheckpoint = "checkpoint"
)

// Checkpoint reasons (the "reason" field of a checkpoint line).
const (
	// CheckpointOpen: the first line a device writes at every start and in
	// every new file after Reopen.
	CheckpointOpen = "open"
	// CheckpointInterval: after every Options.CheckpointEvery entries.
	CheckpointInterval = "interval"
	// CheckpointRotate: the last line of a file on Reopen.
	CheckpointRotate = "rotate"
	// CheckpointClose: the last line on Close.
	CheckpointClose = "close"
)

// ZeroHash is the prev_hash of the first line of a new chain.
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// wireCheckpoint is a checkpoint line; the signature field is appended
// last (see checkpointLine).
type wireCheckpoint struct {
	Time       string `json:"time"`
	Type       string `json:"type"`
	HMACKeyGen uint64 `json:"hmac_key_gen"`
	Seq        uint64 `json:"seq"`
	PrevHash   string `json:"prev_hash"`
	Count      uint64 `json:"count"`
	KeyID      string `json:"key_id"`
	Reason     string `json:"reason"`
}

// header is what Verify and OpenFile read of any line.
type header struct {
	Type       string  `json:"type"`
	Seq        *uint64 `json:"seq"`
	PrevHash   string  `json:"prev_hash"`
	HMACKeyGen uint64  `json:"hmac_key_gen"`
	KeyID      string  `json:"key_id"`
	Reason     *string `json:"reason"`
	Signature  string  `json:"signature"`
}

// sigField introduces the signature, the last field of a checkpoint line.
const sigField = `,"signature":"`

// lineHash is the hex SHA-256 of a line without its newline.
func lineHash(line []byte) string {
	s := sha256.Sum256(line)
	return hex.EncodeToString(s[:])
}

// hashHex is a line hash in hex, as prev_hash holds it.
type hashHex [2 * sha256.Size]byte

// set makes h the line hash of line.
func (h *hashHex) set(line []byte) {
	s := sha256.Sum256(line)
	hex.Encode(h[:], s[:])
}

// isHashHex tells whether s is a line hash: 64 lowercase hex digits.
func isHashHex(s string) bool {
	if len(s) != len(hashHex{}) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// KeyID names an Ed25519 public key in checkpoints: the hex of the first
// 8 bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// marshalLine encodes v as one JSON line without a trailing newline and
// without HTML escaping.
func marshalLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// timeFormat is the time format of every line (Vault's RFC 3339, UTC).
const timeFormat = time.RFC3339Nano

// formatTime formats a line's time.
func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// encoding says what an entry line writes in the clear.
type encoding struct {
	plainAccessor bool // the accessor (Options.PlainAccessor)
	raw           bool // everything (Options.LogRaw)
}

// chainLine completes a body into a line: prefix, then the body with its
// chain fields `,"seq":<seq>,"prev_hash":"<prev>"` before the closing
// brace.
func chainLine(dst []byte, prefix string, body []byte, seq uint64, prev []byte) []byte {
	dst = append(dst, prefix...)
	dst = append(dst, body[:len(body)-1]...)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"prev_hash":"`...)
	dst = append(dst, prev...)
	return append(dst, '"', '}')
}

func decision(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

// checkpointLine encodes and signs a checkpoint. The signed message is
// the line with its signature field removed: the prefix, then the JSON
// of wireCheckpoint exactly as written; the line is that message with
// `,"signature":"<base64 std>"` inserted before its closing brace.
func checkpointLine(prefix string, cp *wireCheckpoint, key ed25519.PrivateKey) ([]byte, error) {
	js, err := marshalLine(cp)
	if err != nil {
		return nil, fmt.Errorf("audit: encode checkpoint: %w", err)
	}
	msg := append([]byte(prefix), js...)
	sig := ed25519.Sign(key, msg)
	line := make([]byte, 0, len(msg)+len(sigField)+90)
	line = append(line, msg[:len(msg)-1]...)
	line = append(line, sigField...)
	line = base64.StdEncoding.AppendEncode(line, sig)
	return append(line, '"', '}'), nil
}

// errBadSignatureField: a checkpoint line whose signature field is not
// last or not base64.
var errBadSignatureField = errors.New("audit: checkpoint signature field malformed")

// splitCheckpoint returns the signed message and the signature of a
// checkpoint line.
func splitCheckpoint(line []byte) (msg, sig []byte, err error) {
	i := bytes.LastIndex(line, []byte(sigField))
	if i < 0 || !bytes.HasSuffix(line, []byte(`"}`)) {
		return nil, nil, errBadSignatureField
	}
	sig, err = base64.StdEncoding.DecodeString(string(line[i+len(sigField) : len(line)-2]))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, nil, errBadSignatureField
	}
	msg = append(append([]byte(nil), line[:i]...), '}')
	return msg, sig, nil
}
