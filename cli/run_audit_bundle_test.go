package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
)

// bundleT0 is the time of entry 0 of the logs these tests write; entry i
// is at bundleT0 + i minutes.
var bundleT0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func atMinute(i int) time.Time { return bundleT0.Add(time.Duration(i) * time.Minute) }

func auditKeyID(k auditKeys) string { return audit.KeyID(k.pub) }

// writeMinuteLog writes 30 entries at minute 0..29 with a checkpoint
// every 4, rotating after entry 13 (audit.log.1, then audit.log), and
// closes; it returns the paths, oldest first.
func writeMinuteLog(t *testing.T, k auditKeys, dir string) []string {
	t.Helper()
	newer := filepath.Join(dir, "audit.log")
	older := newer + ".1"
	d, err := audit.OpenFile(newer, audit.FileOptions{Options: audit.Options{RootKey: k.root, SigningKey: k.priv, CheckpointEvery: 4}})
	if err != nil {
		t.Fatal(err)
	}
	log := func(from, n int) {
		for i := from; i < from+n; i++ {
			e := &audit.Entry{Time: atMinute(i), RequestID: "req", Operation: "read", Path: "secret/data/app", MountType: "kv",
				RequestData: map[string]any{"password": "SENTINEL-PW"}}
			if err := d.LogRequest(context.Background(), e); err != nil {
				t.Fatalf("log entry %d: %v", i, err)
			}
		}
	}
	log(0, 14)
	if err := os.Rename(newer, older); err != nil {
		t.Fatal(err)
	}
	if err := d.Reopen(); err != nil {
		t.Fatal(err)
	}
	log(14, 16)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return []string{older, newer}
}

// makeBundle writes dir/bundle.zip of [minute 10, minute 18] of a fresh
// log with audit.WriteBundle, signed by k when signed.
func makeBundle(t *testing.T, k auditKeys, dir string, signed bool) string {
	t.Helper()
	in := audit.BundleInput{Since: atMinute(10), Until: atMinute(18), Device: "file/", PublicKeyPEM: []byte(pemPublicKey(t, k.pub)),
		Now: func() time.Time { return bundleT0.Add(24 * time.Hour) }}
	logs, err := openLogs(writeMinuteLog(t, k, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer closeLogs(logs)
	in.Logs = logs
	if signed {
		in.Sign = func(_ context.Context, sum [32]byte) ([]byte, error) {
			return ed25519.Sign(k.priv, audit.ManifestMessage(sum)), nil
		}
	}
	var buf bytes.Buffer
	if _, err := audit.WriteBundle(context.Background(), &buf, in); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "bundle.zip", buf.String())
}

// rewriteZip rewrites the zip at path with f applied to each file's
// content.
func rewriteZip(t *testing.T, path string, f func(name string, data []byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(zf.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f(zf.Name, data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// flipIn flips a bit of the middle byte of the file named name.
func flipIn(name string) func(string, []byte) []byte {
	return func(n string, data []byte) []byte {
		if n == name {
			// Another base64 letter, so that a signature stays base64
			// (a flipped bit can make '+' a '*') and fails as a
			// signature, not as malformed.
			if c := &data[len(data)/2]; *c == 'A' {
				*c = 'B'
			} else {
				*c = 'A'
			}
		}
		return data
	}
}

// offlineCase is a command line after "audit" run with an empty
// environment (no server, no token).
type offlineCase struct {
	name   string
	setup  func(t *testing.T, dir string) []string
	code   int
	golden bool   // compare stdout (dir shown as $DIR) with testdata/run_audit_<name>.golden
	stdout string // else stdout exactly (dir shown as $DIR), or its start when it ends in "*"
	stderr string // substring of stderr (dir shown as $DIR; "": stderr must be empty)
}

func runOfflineCases(t *testing.T, tests []offlineCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), append([]string{"audit"}, tt.setup(t, dir)...), strings.NewReader(""), &stdout, &stderr, nil)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stdout %q, stderr %q)", code, tt.code, stdout.String(), stderr.String())
			}
			out := strings.ReplaceAll(stdout.String(), dir, "$DIR")
			errOut := strings.ReplaceAll(stderr.String(), dir, "$DIR")
			prefix, isPrefix := strings.CutSuffix(tt.stdout, "*")
			switch {
			case tt.golden:
				checkGolden(t, "run_audit_"+strings.ReplaceAll(tt.name, " ", "_"), []byte(out))
			case isPrefix && !strings.HasPrefix(out, prefix), !isPrefix && out != tt.stdout:
				t.Errorf("stdout = %q, want %q", out, tt.stdout)
			}
			if tt.stderr == "" && errOut != "" || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tt.stderr)
			}
		})
	}
}

func TestRunAuditVerifyBundle(t *testing.T) {
	t.Parallel()
	k, other := newAuditKeys(1), newAuditKeys(2)
	id := auditKeyID(k)
	pin := base64.StdEncoding.EncodeToString(k.pub)
	bundle := func(signed bool, tamper func(string, []byte) []byte, args ...string) func(*testing.T, string) []string {
		return func(t *testing.T, dir string) []string {
			p := makeBundle(t, k, dir, signed)
			if tamper != nil {
				rewriteZip(t, p, tamper)
			}
			return append(append([]string{"verify-bundle"}, args...), p)
		}
	}
	okLine := "OK: $DIR/bundle.zip: file/ 2026-12-01T09:10:00Z..2026-12-01T09:18:00Z: seq 11..30, 14 entries (9 in the range), 6 checkpoints"
	runOfflineCases(t, []offlineCase{
		{name: "verify-bundle pinned", setup: bundle(true, nil, "-public-key", pin), golden: true},
		{name: "verify-bundle missing key file", setup: bundle(true, nil, "-public-key=@"+filepath.Join("testdata", "no-such.pem")), code: 2,
			stderr: "-public-key: reading the key file"},
		{name: "verify-bundle pinned json", setup: func(t *testing.T, dir string) []string {
			return bundle(true, nil, "-format=json", "-public-key=@"+writeFile(t, dir, "k.pem", pemPublicKey(t, k.pub)))(t, dir)
		}, golden: true},
		{name: "verify-bundle without key", setup: bundle(true, nil),
			stdout: okLine + "; manifest signed by key " + id + ", NOT checked against a trusted key (no -public-key)\n"},
		{name: "verify-bundle unsigned", setup: bundle(false, nil, "-public-key", pin),
			stdout: okLine + "; manifest NOT signed; checkpoints signed by key " + id + ", the trusted key\n"},
		{name: "verify-bundle log edited", code: 1, setup: bundle(true, flipIn("logs/audit.log"), "-public-key", pin),
			stdout: "FAIL: $DIR/bundle.zip: logs/audit.log: modified: SHA-256 *"},
		{name: "verify-bundle another key", code: 1, setup: bundle(true, nil, "-public-key", base64.StdEncoding.EncodeToString(other.pub)),
			stdout: "FAIL: $DIR/bundle.zip: keys/file.pem: key: the bundle's key is " + id + ", not the trusted key " + auditKeyID(other) + "\n"},
		{name: "verify-bundle manifest edited", code: 1, setup: bundle(true, flipIn("manifest.json"), "-public-key", pin),
			stdout: "FAIL: $DIR/bundle.zip: manifest.json: *"},
		{name: "verify-bundle signature edited", code: 1, setup: bundle(true, flipIn("manifest.sig"), "-public-key", pin),
			stdout: "FAIL: $DIR/bundle.zip: manifest.sig: signature: does not verify with the bundle's key " + id + " over manifest.json\n"},
		{name: "verify-bundle not a zip", code: 1, setup: func(t *testing.T, dir string) []string {
			return []string{"verify-bundle", writeFile(t, dir, "bundle.zip", "PK not really")}
		}, stderr: "Error: reading bundle $DIR/bundle.zip: audit: verify bundle: zip: not a valid zip file\n", stdout: ""},
		{name: "verify-bundle missing", code: 1, setup: func(_ *testing.T, dir string) []string {
			return []string{"verify-bundle", filepath.Join(dir, "nope.zip")}
		}, stderr: "Error: opening bundle: open "},
		{name: "verify-bundle bad key", code: 2, setup: bundle(true, nil, "-public-key", "not a key!"), stderr: "-public-key: not base64, hex or PEM"},
		{name: "verify-bundle no bundle", code: 2, setup: func(*testing.T, string) []string { return []string{"verify-bundle"} },
			stderr: "expected 1 argument(s), got 0"},
		{name: "verify-bundle help", setup: func(*testing.T, string) []string { return []string{"verify-bundle", "-help"} }, golden: true},
	})
}

// TestRunAuditVerifyBundleEachFile: a bit flipped in any file of the
// bundle fails verify-bundle with exit 1, naming that file.
func TestRunAuditVerifyBundleEachFile(t *testing.T) {
	t.Parallel()
	k := newAuditKeys(3)
	dir := t.TempDir()
	good := makeBundle(t, k, dir, true)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		t.Run(zf.Name, func(t *testing.T) {
			t.Parallel()
			p := writeFile(t, t.TempDir(), "bundle.zip", string(b))
			rewriteZip(t, p, flipIn(zf.Name))
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), []string{"audit", "verify-bundle", "-public-key", hex.EncodeToString(k.pub), p},
				strings.NewReader(""), &stdout, &stderr, nil)
			if code != ExitError || !strings.HasPrefix(stdout.String(), "FAIL: "+p+": "+zf.Name+": ") {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
			}
		})
	}
}

// exportServer serves what "audit export" asks the server: the scripted
// routes, and sign-manifest, signed with priv.
type exportServer struct {
	*scripted
	priv  ed25519.PrivateKey
	keyID string
}

func (s *exportServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || r.URL.Path != "/v1/sys/audit/file/sign-manifest" {
		s.scripted.ServeHTTP(w, r)
		return
	}
	var body struct {
		Sum string `json:"manifest_sha256"`
	}
	err := json.NewDecoder(r.Body).Decode(&body)
	raw, herr := hex.DecodeString(body.Sum)
	if err != nil || herr != nil || len(raw) != 32 {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"errors":["manifest_sha256 must be 64 hex digits"]}`)
		return
	}
	s.mu.Lock()
	s.got = append(s.got, "PUT "+r.URL.Path)
	s.mu.Unlock()
	sig := ed25519.Sign(s.priv, audit.ManifestMessage([32]byte(raw)))
	b, _ := json.Marshal(map[string]any{"data": map[string]any{"signature": base64.StdEncoding.EncodeToString(sig), "key_id": s.keyID}})
	_, _ = w.Write(b)
}

// requests returns the requests served so far.
func (s *exportServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// exportRoutes are the answers of a server with one Cedar and one ACL
// policy, for the device key k.
func exportRoutes(t *testing.T, k auditKeys) map[string]reply {
	return map[string]reply{
		"GET /v1/sys/audit":                 {200, auditListReply},
		"GET /v1/sys/audit/file/public-key": {200, publicKeyReply(t, k, auditKeyID(k))},
		"LIST /v1/sys/policies/cedar":       {200, `{"data":{"keys":["admins"]}}`},
		"GET /v1/sys/policies/cedar/admins": {200, `{"data":{"name":"admins","policy":"permit (principal in Group::\"admins\", action, resource);\n"}}`},
		"LIST /v1/sys/policies/acl":         {200, `{"data":{"keys":["dev ops"]}}`},
		"GET /v1/sys/policies/acl/dev ops":  {200, aclReply},
	}
}

// runExport runs "audit export ARGS" against srv; it returns the exit
// code, stdout and stderr.
func runExport(t *testing.T, srv http.Handler, args ...string) (int, string, string) {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	env := map[string]string{"VAULT_ADDR": hs.URL, "VAULT_TOKEN": "s.roottoken"}
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), append([]string{"audit", "export"}, args...), strings.NewReader(""), &stdout, &stderr,
		func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}
