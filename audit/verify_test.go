package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/audit"
)

// cleanLog writes 20 entries with a checkpoint every 5 and closes: 26
// lines (the open checkpoint at line 1, interval ones at lines 7, 13, 19,
// 25 and the close one at 26; line n has seq n).
func cleanLog(t *testing.T, k keys) [][]byte {
	t.Helper()
	path := tempLog(t)
	o := k.opts()
	o.CheckpointEvery = 5
	d := openFile(t, path, o)
	logN(t, d, 20)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if len(lines) != 26 {
		t.Fatalf("got %d lines, want 26", len(lines))
	}
	return lines
}

// resign replaces a checkpoint's signature with one by priv, naming
// keyID.
func resign(t *testing.T, line []byte, priv ed25519.PrivateKey, keyID string) []byte {
	t.Helper()
	s := string(line)
	i := strings.LastIndex(s, `,"signature":"`)
	msg := s[:i] + "}"
	j := strings.Index(msg, `"key_id":"`) + len(`"key_id":"`)
	msg = msg[:j] + keyID + msg[j+16:]
	sig := ed25519.Sign(priv, []byte(msg))
	return []byte(msg[:len(msg)-1] + `,"signature":"` + base64.StdEncoding.EncodeToString(sig) + `"}`)
}

func TestVerifyTamper(t *testing.T) {
	k := newKeys(t)
	otherPub, otherPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clone := func(ls [][]byte) [][]byte {
		out := make([][]byte, len(ls))
		for i, l := range ls {
			out[i] = bytes.Clone(l)
		}
		return out
	}
	tests := []struct {
		name   string
		tamper func([][]byte) [][]byte
		pub    ed25519.PublicKey
		tail   string // appended after the joined lines ("\n" normally)
		line   int    // 0: OK
		seq    uint64
		reason audit.Reason
	}{
		{name: "untouched", tamper: func(l [][]byte) [][]byte { return l }},
		{name: "one byte edited", tamper: func(l [][]byte) [][]byte {
			i := bytes.Index(l[2], []byte(`"password":"hmac-sha256:`)) + len(`"password":"hmac-sha256:`)
			l[2][i] = otherHexDigit(l[2][i])
			return l
		}, line: 3, seq: 3, reason: audit.ReasonEdited},
		{name: "prev_hash edited", tamper: func(l [][]byte) [][]byte {
			i := bytes.Index(l[2], []byte(`"prev_hash":"`)) + len(`"prev_hash":"`)
			l[2][i] = otherHexDigit(l[2][i])
			return l
		}, line: 3, seq: 3, reason: audit.ReasonEdited},
		{name: "malformed", tamper: func(l [][]byte) [][]byte {
			l[4] = l[4][:10]
			return l
		}, line: 5, reason: audit.ReasonEdited},
		{name: "line deleted", tamper: func(l [][]byte) [][]byte {
			return append(l[:2], l[3:]...)
		}, line: 3, seq: 4, reason: audit.ReasonDropped},
		{name: "first line deleted", tamper: func(l [][]byte) [][]byte { return l[1:] },
			line: 1, seq: 2, reason: audit.ReasonDropped},
		{name: "two lines swapped", tamper: func(l [][]byte) [][]byte {
			l[2], l[3] = l[3], l[2]
			return l
		}, line: 3, seq: 4, reason: audit.ReasonReordered},
		{name: "line moved back", tamper: func(l [][]byte) [][]byte {
			moved := l[1]
			l = append(l[:1], l[2:]...)
			return append(l[:6], append([][]byte{moved}, l[6:]...)...)
		}, line: 2, seq: 3, reason: audit.ReasonReordered},
		{name: "line duplicated", tamper: func(l [][]byte) [][]byte {
			return append(l[:4], append([][]byte{l[3]}, l[4:]...)...)
		}, line: 5, seq: 4, reason: audit.ReasonDuplicated},
		{name: "tail truncated at a line", tamper: func(l [][]byte) [][]byte { return l[:22] },
			line: 22, seq: 22, reason: audit.ReasonTruncated},
		{name: "tail truncated after an interval checkpoint", tamper: func(l [][]byte) [][]byte { return l[:25] },
			line: 25, seq: 25, reason: audit.ReasonTruncated},
		{name: "tail truncated mid-line", tamper: func(l [][]byte) [][]byte {
			l[25] = l[25][:30]
			return l
		}, tail: "-", line: 26, reason: audit.ReasonTruncated},
		{name: "forged checkpoint", tamper: func(l [][]byte) [][]byte {
			l[25] = resign(t, l[25], otherPriv, audit.KeyID(otherPub))
			return l
		}, line: 26, seq: 26, reason: audit.ReasonUnsigned},
		{name: "forged open checkpoint", tamper: func(l [][]byte) [][]byte {
			l[0] = resign(t, l[0], otherPriv, audit.KeyID(otherPub))
			return l
		}, line: 1, seq: 1, reason: audit.ReasonUnsigned},
		{name: "forged checkpoint naming the device key", tamper: func(l [][]byte) [][]byte {
			l[12] = resign(t, l[12], otherPriv, audit.KeyID(k.pub))
			return l
		}, line: 13, seq: 13, reason: audit.ReasonEdited},
		{name: "checkpoint content edited", tamper: func(l [][]byte) [][]byte {
			l[6] = bytes.Replace(l[6], []byte(`"count":5`), []byte(`"count":4`), 1)
			return l
		}, line: 7, seq: 7, reason: audit.ReasonEdited},
		{name: "checkpoint reason edited", tamper: func(l [][]byte) [][]byte {
			l[24] = bytes.Replace(l[24], []byte(`"reason":"interval"`), []byte(`"reason":"close"`), 1)
			return l[:25]
		}, line: 25, seq: 25, reason: audit.ReasonEdited},
		{name: "unknown checkpoint reason", tamper: func(l [][]byte) [][]byte {
			l[24] = resign(t, bytes.Replace(l[24], []byte(`"reason":"interval"`), []byte(`"reason":"pause"`), 1), k.priv, audit.KeyID(k.pub))
			return l
		}, line: 25, seq: 25, reason: audit.ReasonEdited},
	}
	clean := cleanLog(t, k)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := tt.tamper(clone(clean))
			data := bytes.Join(lines, []byte("\n"))
			if tt.tail != "-" {
				data = append(data, '\n')
			}
			path := tempLog(t)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			rep, err := audit.Verify(k.pub, path)
			if err != nil {
				t.Fatal(err)
			}
			if tt.line == 0 {
				if !rep.OK || rep.Entries != 20 || rep.Checkpoints != 6 || rep.LastSeq != 26 || rep.Segments != 1 || rep.Gaps != 0 {
					t.Fatalf("clean log: %+v", rep)
				}
				return
			}
			p := rep.Problem
			if rep.OK || p == nil {
				t.Fatalf("tampering not detected: %+v", rep)
			}
			if p.Line != tt.line || p.Seq != tt.seq || p.Reason != tt.reason || p.File != path {
				t.Fatalf("got %s line %d seq %d (%s), want %s line %d seq %d", p.Reason, p.Line, p.Seq, p.Detail, tt.reason, tt.line, tt.seq)
			}
		})
	}
}

func TestVerifyWithoutKey(t *testing.T) {
	k := newKeys(t)
	lines := cleanLog(t, k)
	path := tempLog(t)
	if err := os.WriteFile(path, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(nil, path)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Unchecked != 6 || rep.Checkpoints != 0 || rep.Entries != 20 {
		t.Fatalf("got %+v", rep)
	}
}

func TestVerifyOpenTail(t *testing.T) {
	k := newKeys(t)
	lines := cleanLog(t, k)[:22]
	data := append(bytes.Join(lines, []byte("\n")), '\n')
	tests := []struct {
		name string
		opts audit.VerifyOptions
		ok   bool
	}{
		{"strict", audit.VerifyOptions{}, false},
		{"live log", audit.VerifyOptions{AllowOpenTail: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := audit.VerifySources(k.pub, tt.opts, audit.Source{Name: "audit.log", R: bytes.NewReader(data)})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK != tt.ok {
				t.Fatalf("got %+v", rep)
			}
			if tt.ok && rep.OpenTail != 3 { // entries 20..22 after the checkpoint at 19
				t.Fatalf("open tail %d, want 3", rep.OpenTail)
			}
		})
	}
}

// otherHexDigit returns a hex digit different from c.
func otherHexDigit(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}
