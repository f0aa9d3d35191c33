package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
)

// These tests write real logs with audit.OpenFile and verify them with
// "vaultctl audit verify", offline: the environment is empty (no
// VAULT_ADDR, no token).

// auditKeys are fixed keys, so that key ids in golden files are stable.
type auditKeys struct {
	root []byte
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

func newAuditKeys(seed byte) auditKeys {
	root := bytes.Repeat([]byte{seed ^ 0x5a}, audit.RootKeySize)
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return auditKeys{root: root, priv: priv, pub: priv.Public().(ed25519.PublicKey)}
}

// writeEntries logs n entries (requests and responses alternately).
func writeEntries(t *testing.T, d *audit.FileDevice, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		e := &audit.Entry{Time: time.Date(2026, 12, 1, 12, 0, 0, i, time.UTC), RequestID: "req",
			Operation: "update", Path: "secret/data/app", MountType: "kv",
			RequestData: map[string]any{"password": "SENTINEL-PW"}}
		log := d.LogRequest
		if i%2 == 1 {
			log = d.LogResponse
		}
		if err := log(context.Background(), e); err != nil {
			t.Fatalf("log entry %d: %v", i, err)
		}
	}
}

// writeLog writes a closed log of 10 entries with a checkpoint every 4 at
// dir/audit.log: 14 lines (line n has seq n), checkpoints at lines 1
// (open), 6, 11 and 14 (close).
func writeLog(t *testing.T, k auditKeys, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "audit.log")
	d, err := audit.OpenFile(path, audit.FileOptions{Options: audit.Options{RootKey: k.root, SigningKey: k.priv, CheckpointEvery: 4}})
	if err != nil {
		t.Fatal(err)
	}
	writeEntries(t, d, 0, 10)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeRotated writes 6 entries, rotates (audit.log -> audit.log.1,
// Reopen), writes 5 more and closes: audit.log.1 holds seq 1..8 (open,
// entries, rotate) and audit.log seq 9..15 (open, entries, close).
func writeRotated(t *testing.T, k auditKeys, dir string) (older, newer string) {
	t.Helper()
	newer, older = filepath.Join(dir, "audit.log"), filepath.Join(dir, "audit.log.1")
	d, err := audit.OpenFile(newer, audit.FileOptions{Options: audit.Options{RootKey: k.root, SigningKey: k.priv}})
	if err != nil {
		t.Fatal(err)
	}
	writeEntries(t, d, 0, 6)
	if err := os.Rename(newer, older); err != nil {
		t.Fatal(err)
	}
	if err := d.Reopen(); err != nil {
		t.Fatal(err)
	}
	writeEntries(t, d, 6, 5)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return older, newer
}

// crashed writes the log of writeLog less its close checkpoint (a
// crash), then restarts the device on it for 2 entries: open 14, entries
// 15..16, close 17.
func crashed(k auditKeys, extra ...string) func(*testing.T, string) []string {
	return func(t *testing.T, dir string) []string {
		p := writeLog(t, k, dir)
		editLines(t, p, func(l [][]byte) [][]byte { return l[:13] })
		d, err := audit.OpenFile(p, audit.FileOptions{Options: audit.Options{RootKey: k.root, SigningKey: k.priv}})
		if err != nil {
			t.Fatal(err)
		}
		writeEntries(t, d, 10, 2)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		return append(extra, p)
	}
}

// prefixed writes a closed log of 2 entries whose lines start with
// "audit: ".
func prefixed(k auditKeys, extra ...string) func(*testing.T, string) []string {
	return func(t *testing.T, dir string) []string {
		p := filepath.Join(dir, "audit.log")
		d, err := audit.OpenFile(p, audit.FileOptions{Options: audit.Options{RootKey: k.root, SigningKey: k.priv, Prefix: "audit: "}})
		if err != nil {
			t.Fatal(err)
		}
		writeEntries(t, d, 0, 2)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		return append(extra, p)
	}
}

// editLines rewrites the file at path through f on its lines.
func editLines(t *testing.T, path string, f func([][]byte) [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := f(bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")))
	if err := os.WriteFile(path, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
}

// resignCheckpoint re-signs a checkpoint line with priv, naming its key.
func resignCheckpoint(t *testing.T, line []byte, priv ed25519.PrivateKey) []byte {
	t.Helper()
	s := string(line)
	i := strings.LastIndex(s, `,"signature":"`)
	j := strings.Index(s, `"key_id":"`) + len(`"key_id":"`)
	if i < 0 || j < len(`"key_id":"`) {
		t.Fatalf("not a checkpoint: %s", s)
	}
	id := audit.KeyID(priv.Public().(ed25519.PublicKey))
	msg := s[:j] + id + s[j+len(id):i] + "}"
	sig := ed25519.Sign(priv, []byte(msg))
	return []byte(msg[:len(msg)-1] + `,"signature":"` + base64.StdEncoding.EncodeToString(sig) + `"}`)
}

func pemPublicKey(t *testing.T, pub ed25519.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type auditCase struct {
	name string
	// setup writes the log in dir and returns the arguments after
	// "audit verify".
	setup  func(t *testing.T, dir string) []string
	code   int
	golden bool   // compare stdout (with dir shown as $DIR) with testdata/run_audit_<name>.golden
	stdout string // else compare stdout exactly (with dir shown as $DIR)
	stderr string // substring expected on stderr ("": stderr must be empty)
}

func runAuditCases(t *testing.T, tests []auditCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := append([]string{"audit", "verify"}, tt.setup(t, dir)...)
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, nil)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stdout %q, stderr %q)", code, tt.code, stdout.String(), stderr.String())
			}
			out := strings.ReplaceAll(stdout.String(), dir, "$DIR")
			if tt.golden {
				checkGolden(t, "run_audit_"+strings.ReplaceAll(tt.name, " ", "_"), []byte(out))
			} else if out != tt.stdout {
				t.Errorf("stdout = %q, want %q", out, tt.stdout)
			}
			if tt.stderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderr)
			}
		})
	}
}

func TestRunAuditVerify(t *testing.T) {
	t.Parallel()
	k, other := newAuditKeys(1), newAuditKeys(2)
	b64 := base64.StdEncoding.EncodeToString(k.pub)
	id := audit.KeyID(k.pub)
	okLine := "OK: 10 entries, 4 checkpoints (signed by " + id + "), seq 1..14\n"
	log := func(extra ...string) func(*testing.T, string) []string {
		return func(t *testing.T, dir string) []string { return append(extra, writeLog(t, k, dir)) }
	}
	tampered := func(f func([][]byte) [][]byte, extra ...string) func(*testing.T, string) []string {
		return func(t *testing.T, dir string) []string {
			p := writeLog(t, k, dir)
			editLines(t, p, f)
			return append(extra, p)
		}
	}
	keyFile := func(content string) func(*testing.T, string) []string {
		return func(t *testing.T, dir string) []string {
			return []string{"-public-key", "@" + writeFile(t, dir, "device.pub", content), writeLog(t, k, dir)}
		}
	}
	runAuditCases(t, []auditCase{
		{name: "untouched", setup: log("-public-key", b64), golden: true},
		{name: "untouched json", setup: log("-format=json", "-public-key="+b64), golden: true},
		{name: "untouched yaml", setup: log("-format=yaml", "-public-key="+b64), golden: true},
		{name: "without key", setup: log(),
			stdout: "OK: 10 entries, 4 checkpoints (signatures NOT checked: no -public-key), seq 1..14\n"},
		{name: "key raw url base64", setup: log("-public-key", base64.RawURLEncoding.EncodeToString(k.pub)), stdout: okLine},
		{name: "key hex", setup: log("-public-key=" + strings.ToUpper(hex.EncodeToString(k.pub))), stdout: okLine},
		{name: "key pem", setup: log("-public-key", pemPublicKey(t, k.pub)), stdout: okLine},
		{name: "key file pem", setup: keyFile(pemPublicKey(t, k.pub)), stdout: okLine},
		{name: "key file base64", setup: keyFile(b64 + "\n"), stdout: okLine},
		{name: "edited byte", code: 1, setup: tampered(func(l [][]byte) [][]byte {
			i := bytes.Index(l[2], []byte(`"password":"hmac-sha256:`)) + len(`"password":"hmac-sha256:`)
			l[2][i] = otherDigit(l[2][i])
			return l
		}, "-public-key", b64),
			stdout: "FAIL: $DIR/audit.log:3: seq 3: edited: line does not match the hash the next line commits to\n"},
		{name: "edited byte json", code: 1, golden: true, setup: tampered(func(l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"update"`), []byte(`"delete"`), 1)
			return l
		}, "-public-key", b64, "-format", "json")},
		{name: "deleted line", code: 1, setup: tampered(func(l [][]byte) [][]byte { return append(l[:2], l[3:]...) }, "-public-key", b64),
			stdout: "FAIL: $DIR/audit.log:3: seq 4: dropped: seq 3 to 3 missing\n"},
		{name: "forged checkpoint", code: 1, setup: tampered(func(l [][]byte) [][]byte {
			l[13] = resignCheckpoint(t, l[13], other.priv)
			return l
		}, "-public-key", b64),
			stdout: "FAIL: $DIR/audit.log:14: seq 14: unsigned: checkpoint names another key than the device key\n"},
		{name: "another device key", code: 1, setup: log("-public-key", base64.StdEncoding.EncodeToString(other.pub)),
			stdout: "FAIL: $DIR/audit.log:1: seq 1: unsigned: checkpoint names another key than the device key\n"},
		{name: "open tail refused", code: 1, setup: tampered(func(l [][]byte) [][]byte { return l[:13] }, "-public-key", b64),
			stdout: "FAIL: $DIR/audit.log:13: seq 13: truncated: log does not end with a close or rotate checkpoint\n"},
		{name: "open tail allowed", setup: tampered(func(l [][]byte) [][]byte { return l[:13] }, "-allow-open-tail", "-public-key", b64),
			stdout: "OK: 10 entries, 3 checkpoints (signed by " + id + "), seq 1..13, 2 entries after the last checkpoint\n"},
		{name: "unclean stop", code: 1, setup: crashed(k, "-public-key", b64),
			stdout: "FAIL: $DIR/audit.log:13: seq 13: truncated: device stopped without a closing checkpoint before seq 14; entries written after seq 13 may be lost\n"},
		{name: "unclean stop allowed", setup: crashed(k, "-allow-unclean-stop", "-public-key", b64),
			stdout: "OK: 12 entries, 5 checkpoints (signed by " + id + "), seq 1..17, 1 restarts after an unclean stop\n"},
		{name: "prefix", setup: prefixed(k, "-prefix", "audit: ", "-public-key", b64),
			stdout: "OK: 2 entries, 2 checkpoints (signed by " + id + "), seq 1..4\n"},
		{name: "prefix missing", code: 1, setup: prefixed(k, "-public-key", b64),
			stdout: "FAIL: $DIR/audit.log:1: seq ?: edited: not an audit entry\n"},
		{name: "cut mid-line", code: 1, setup: func(t *testing.T, dir string) []string {
			p := writeLog(t, k, dir)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			return []string{writeFile(t, dir, "cut.log", string(b[:len(b)-20]))}
		}, stdout: "FAIL: $DIR/cut.log:14: seq ?: truncated: file ends mid-line\n"},
		{name: "rotation in order", setup: func(t *testing.T, dir string) []string {
			older, newer := writeRotated(t, k, dir)
			return []string{"-public-key", b64, older, newer}
		}, stdout: "OK: 11 entries, 4 checkpoints (signed by " + id + "), seq 1..15\n"},
		{name: "rotation newest first", code: 1, setup: func(t *testing.T, dir string) []string {
			older, newer := writeRotated(t, k, dir)
			return []string{"-public-key", b64, newer, older}
		}, stdout: "FAIL: $DIR/audit.log:1: seq 9: dropped: log does not start at seq 1 with a zero prev_hash\n"},
		{name: "rotation newest only", code: 1, setup: func(t *testing.T, dir string) []string {
			_, newer := writeRotated(t, k, dir)
			return []string{"-public-key", b64, newer}
		}, stdout: "FAIL: $DIR/audit.log:1: seq 9: dropped: log does not start at seq 1 with a zero prev_hash\n"},
		{name: "rotation newest only partial head", setup: func(t *testing.T, dir string) []string {
			_, newer := writeRotated(t, k, dir)
			return []string{"-allow-partial-head", "-public-key", b64, newer}
		}, stdout: "OK: 5 entries, 2 checkpoints (signed by " + id + "), seq 9..15\n"},
		{name: "bad key text", code: 2, setup: log("-public-key", "not a key!"), stderr: "-public-key: not base64, hex or PEM"},
		{name: "short key", code: 2, setup: log("-public-key", b64[:40]), stderr: "-public-key: 30 bytes, want a 32-byte Ed25519 public key"},
		{name: "private key given", code: 2, setup: log("-public-key", base64.StdEncoding.EncodeToString(k.priv)),
			stderr: "-public-key: 64 bytes, want a 32-byte"},
		{name: "private key pem", code: 2, setup: log("-public-key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}))),
			stderr: `PEM block is "PRIVATE KEY", want "PUBLIC KEY"`},
		{name: "ecdsa key pem", code: 2, setup: log("-public-key", ecdsaPEM(t)), stderr: "*ecdsa.PublicKey, want an Ed25519 public key"},
		{name: "help", setup: func(*testing.T, string) []string { return []string{"-help"} }, golden: true},
		{name: "empty key file", code: 2, setup: keyFile("\n"), stderr: "device.pub: empty key"},
		{name: "missing key file", code: 2, setup: func(t *testing.T, dir string) []string {
			return []string{"-public-key", "@" + filepath.Join(dir, "nope.pub"), writeLog(t, k, dir)}
		}, stderr: "-public-key: reading the key file"},
		{name: "no files", code: 2, setup: func(*testing.T, string) []string { return nil }, stderr: "expected at least 1 argument"},
		{name: "bad format", code: 2, setup: log("-format=xml"), stderr: `unknown format "xml"`},
		{name: "missing log", code: 1, setup: func(_ *testing.T, dir string) []string { return []string{filepath.Join(dir, "audit.log")} },
			stderr: "Error: opening audit log: open "},
	})
}

func TestRunAuditGroup(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"audit"}, strings.NewReader(""), &stdout, &stderr, nil)
	if code != ExitUsage || !strings.Contains(stderr.String(), "verify") {
		t.Fatalf("audit alone: code %d, stderr %q", code, stderr.String())
	}
}

// ecdsaPEM is a PEM "PUBLIC KEY" of a P-256 key.
func ecdsaPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// otherDigit returns a hex digit different from c.
func otherDigit(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}
