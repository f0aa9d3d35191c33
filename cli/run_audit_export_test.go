package cli

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// zipFiles reads the files of the zip at path.
func zipFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = string(b)
	}
	return out
}

// verifyWith runs "audit verify-bundle -public-key @key bundle".
func verifyWith(t *testing.T, key, bundle string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"audit", "verify-bundle", "-public-key", "@" + key, bundle}, strings.NewReader(""), &stdout, &stderr, nil)
	return code, stdout.String() + stderr.String()
}

func TestRunAuditExport(t *testing.T) {
	t.Parallel()
	k := newAuditKeys(4)
	dir := t.TempDir()
	logs := writeMinuteLog(t, k, dir)
	srv := &exportServer{scripted: &scripted{routes: exportRoutes(t, k)}, priv: k.priv, keyID: auditKeyID(k)}
	out, key := filepath.Join(dir, "b.zip"), filepath.Join(dir, "device.pem")
	code, stdout, stderr := runExport(t, srv, "-since", "2026-12-01T09:10:00Z", "-until=2026-12-01T09:18:00Z", "-out", out,
		"-public-key-out", key, logs[0], logs[1])
	files := zipFiles(t, out)
	want := "Success! Wrote " + out + ": seq 11..30, 14 entries (9 in the range), 6 checkpoints, " + itoa(len(files)) +
		" files; manifest signed by file/ (key " + auditKeyID(k) + ")\n"
	if code != 0 || stdout != want || stderr != "" {
		t.Fatalf("export: exit %d, stdout %q (want %q), stderr %q", code, stdout, want, stderr)
	}
	wantReqs := []string{"GET /v1/sys/audit", "GET /v1/sys/audit/file/public-key", "LIST /v1/sys/policies/cedar", "GET /v1/sys/policies/cedar/admins",
		"LIST /v1/sys/policies/acl", "GET /v1/sys/policies/acl/dev ops", "LIST /v1/sys/rotation/policies", "PUT /v1/sys/audit/file/sign-manifest"}
	if got := srv.requests(); !reflect.DeepEqual(got, wantReqs) {
		t.Errorf("requests = %q, want %q", got, wantReqs)
	}
	for name, content := range map[string]string{
		"policies/cedar/admins.cedar":  "permit (principal in Group::\"admins\", action, resource);\n",
		"policies/acl/dev%20ops.hcl":   "path \"secret/*\" {\n  capabilities = [\"read\"]\n}\n",
		"policies/acl/dev%20ops.cedar": "@id(\"dev:0\")\npermit (principal, action == Action::\"read\", resource in Secret::\"secret\");\n",
		"keys/file.pem":                pemPublicKey(t, k.pub),
	} {
		if files[name] != content {
			t.Errorf("%s = %q, want %q", name, files[name], content)
		}
	}
	for _, name := range []string{"logs/audit.log.1", "logs/audit.log", "verification.json", "controls.md", "README.txt",
		"manifest.json", "SHA256SUMS", "manifest.sig"} {
		if files[name] == "" {
			t.Errorf("the bundle has no %s", name)
		}
	}
	if len(files) != 12 {
		t.Errorf("the bundle holds %d files, want 12", len(files))
	}
	if b, err := os.ReadFile(key); err != nil || string(b) != pemPublicKey(t, k.pub) {
		t.Errorf("-public-key-out wrote %q (%v)", b, err)
	}
	if code, msg := verifyWith(t, key, out); code != 0 || !strings.HasPrefix(msg, "OK: "+out+": file/ 2026-12-01T09:10:00Z..2026-12-01T09:18:00Z") {
		t.Errorf("verify-bundle of the export: exit %d: %s", code, msg)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".vaultctl-bundle-*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %q", tmp)
	}
}

func TestRunAuditExportJSONAndRotation(t *testing.T) {
	t.Parallel()
	k := newAuditKeys(5)
	dir := t.TempDir()
	logs := writeMinuteLog(t, k, dir)
	routes := exportRoutes(t, k)
	routes["LIST /v1/sys/rotation/policies"] = reply{200, `{"data":{"keys":["transit-weekly"]}}`}
	routes["GET /v1/sys/rotation/policies/transit-weekly"] = reply{200, `{"data":{"mount":"transit","period":"168h"}}`}
	routes["GET /v1/sys/rotation/policies/transit-weekly/history"] = reply{200, `{"data":{"runs":[{"path":"transit/keys/app","result":"success"}]}}`}
	srv := &exportServer{scripted: &scripted{routes: routes}, priv: k.priv, keyID: auditKeyID(k)}
	out := filepath.Join(dir, "b.zip")
	code, stdout, stderr := runExport(t, srv, "-format=json", "-since=2026-12-01T09:00:00Z", "-until=2026-12-01T09:29:00Z", "-out="+out, logs[0], logs[1])
	if code != 0 || stderr != "" {
		t.Fatalf("export: exit %d, stderr %q", code, stderr)
	}
	var rep struct {
		File     string `json:"file"`
		LogOK    bool   `json:"log_ok"`
		Manifest struct {
			Signed         bool `json:"signed"`
			FirstSeq       int  `json:"first_seq"`
			EntriesInRange int  `json:"entries_in_range"`
			Files          []struct {
				Name string `json:"name"`
			} `json:"files"`
		} `json:"manifest"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("export -format=json: %v\n%s", err, stdout)
	}
	if rep.File != out || !rep.LogOK || !rep.Manifest.Signed || rep.Manifest.FirstSeq != 1 || rep.Manifest.EntriesInRange != 30 {
		t.Errorf("export report = %+v", rep)
	}
	if got := zipFiles(t, out)["policies/rotation/transit-weekly.json"]; got != "{\n  \"mount\": \"transit\",\n  \"period\": \"168h\"\n}\n" {
		t.Errorf("rotation policy = %q", got)
	}
	if got := zipFiles(t, out)["policies/rotation/transit-weekly.history.json"]; !strings.Contains(got, `"transit/keys/app"`) {
		t.Errorf("rotation history = %q", got)
	}
	k2 := writeFile(t, dir, "k.pem", pemPublicKey(t, k.pub))
	if code, msg := verifyWith(t, k2, out); code != 0 {
		t.Errorf("verify-bundle: exit %d: %s", code, msg)
	}
}

func TestRunAuditExportFailures(t *testing.T) {
	t.Parallel()
	k, other := newAuditKeys(6), newAuditKeys(7)
	tests := []struct {
		name   string
		routes func(map[string]reply)
		priv   auditKeys // the key sign-manifest signs with
		args   func(dir string, logs []string) []string
		code   int
		stderr string
		reqs   bool // whether the server must have been asked anything
	}{
		{name: "no since", args: func(d string, l []string) []string { return []string{"-out", d + "/b.zip", l[1]} }, code: 2, stderr: "-since is required"},
		{name: "bad since", args: func(d string, l []string) []string { return []string{"-since=yesterday", "-out", d + "/b.zip", l[1]} },
			code: 2, stderr: `-since "yesterday": want an RFC 3339 time`},
		{name: "until before since", args: func(d string, l []string) []string {
			return []string{"-since=2026-12-01T10:00:00Z", "-until=2026-12-01T09:00:00Z", "-out", d + "/b.zip", l[1]}
		}, code: 2, stderr: "-until 2026-12-01T09:00:00Z is before -since 2026-12-01T10:00:00Z"},
		{name: "no out", args: func(_ string, l []string) []string { return []string{"-since=24h", l[1]} }, code: 2, stderr: "-out is required"},
		{name: "no device", args: func(d string, l []string) []string {
			return []string{"-since=24h", "-device=/", "-out", d + "/b.zip", l[1]}
		},
			code: 2, stderr: `invalid -device "/"`},
		{name: "no files", args: func(d string, _ []string) []string { return []string{"-since=24h", "-out", d + "/b.zip"} },
			code: 2, stderr: "expected at least 1 argument(s), got 0"},
		{name: "same name twice", args: func(d string, l []string) []string {
			return []string{"-since=2026-12-01T09:00:00Z", "-out", d + "/b.zip", l[1], filepath.Join(d, "other", "audit.log")}
		}, code: 2, stderr: "have the same name"},
		{name: "missing log", args: func(d string, _ []string) []string {
			return []string{"-since=2026-12-01T09:00:00Z", "-out", d + "/b.zip", filepath.Join(d, "nope.log")}
		}, code: 1, stderr: "Error: opening audit log: open "},
		{name: "head of the log cut", args: func(d string, l []string) []string {
			editLines(t, l[1], func(lines [][]byte) [][]byte { return lines[1:] }) // drop the open checkpoint
			return []string{"-since=2026-12-01T09:14:00Z", "-until=2026-12-01T09:15:00Z", "-out", d + "/b.zip", l[1]}
		}, code: 1, stderr: "Error: exporting: audit: bundle: no checkpoint precedes the range", reqs: true},
		{name: "device not enabled", routes: func(r map[string]reply) { r["GET /v1/sys/audit"] = reply{200, `{"data":{}}`} },
			args: func(d string, l []string) []string {
				return []string{"-since=2026-12-01T09:00:00Z", "-out", d + "/b.zip", l[0], l[1]}
			},
			code: 1, stderr: "Error: no audit device is enabled at file/", reqs: true},
		{name: "key id mismatch", routes: func(r map[string]reply) {
			r["GET /v1/sys/audit/file/public-key"] = reply{200, publicKeyReply(t, k, "0123456789abcdef")}
		}, args: func(d string, l []string) []string {
			return []string{"-since=2026-12-01T09:00:00Z", "-out", d + "/b.zip", l[0], l[1]}
		},
			code: 1, stderr: "the server names its key 0123456789abcdef", reqs: true},
		{name: "signed by another key", priv: other, args: func(d string, l []string) []string {
			return []string{"-since=2026-12-01T09:00:00Z", "-out", d + "/b.zip", l[0], l[1]}
		}, code: 1, stderr: "the server signed with key " + auditKeyID(other), reqs: true},
		{name: "policies forbidden", routes: func(r map[string]reply) {
			r["LIST /v1/sys/policies/acl"] = reply{403, `{"errors":["permission denied"]}`}
		}, args: func(d string, l []string) []string {
			return []string{"-since=2026-12-01T09:00:00Z", "-out", d + "/b.zip", l[0], l[1]}
		},
			code: 1, stderr: "Error: listing policies: list acl policies: client: LIST /v1/sys/policies/acl: 403 Forbidden", reqs: true},
		{name: "rotation policies forbidden", routes: func(r map[string]reply) {
			r["LIST /v1/sys/rotation/policies"] = reply{403, `{"errors":["permission denied"]}`}
		}, args: func(d string, l []string) []string {
			return []string{"-since=2026-12-01T09:00:00Z", "-out", d + "/b.zip", l[0], l[1]}
		},
			code: 0, stderr: "Warning: not permitted to list sys/rotation/policies", reqs: true},
		{name: "help", args: func(string, []string) []string { return []string{"-help"} }, code: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			logs := writeMinuteLog(t, k, dir)
			routes := exportRoutes(t, k)
			if tt.routes != nil {
				tt.routes(routes)
			}
			signer := tt.priv
			if signer.priv == nil {
				signer = k
			}
			srv := &exportServer{scripted: &scripted{routes: routes}, priv: signer.priv, keyID: auditKeyID(signer)}
			code, stdout, stderr := runExport(t, srv, tt.args(dir, logs)...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) || tt.stderr == "" && stderr != "" {
				t.Fatalf("exit %d, stderr %q; want %d, %q", code, stderr, tt.code, tt.stderr)
			}
			if tt.name == "help" {
				checkGolden(t, "run_audit_export_help", []byte(stdout))
			}
			if got := srv.requests(); len(got) > 0 && !tt.reqs {
				t.Errorf("the server was asked %q", got)
			}
			if _, err := os.Stat(filepath.Join(dir, "b.zip")); tt.code != 0 && err == nil {
				t.Error("a failed export left a bundle")
			}
			if tmp, _ := filepath.Glob(filepath.Join(dir, ".vaultctl-bundle-*")); len(tmp) > 0 {
				t.Errorf("temporary files left: %q", tmp)
			}
		})
	}
}

// TestRunAuditExportProblemOutsideRange: an edited line outside the range
// is a warning; the bundle of the range is written and verifies.
func TestRunAuditExportProblemOutsideRange(t *testing.T) {
	t.Parallel()
	k := newAuditKeys(8)
	dir := t.TempDir()
	logs := writeMinuteLog(t, k, dir)
	editLines(t, logs[1], func(l [][]byte) [][]byte {
		l[len(l)-3] = bytes.Replace(l[len(l)-3], []byte(`"read"`), []byte(`"list"`), 1)
		return l
	})
	srv := &exportServer{scripted: &scripted{routes: exportRoutes(t, k)}, priv: k.priv, keyID: auditKeyID(k)}
	out := filepath.Join(dir, "b.zip")
	code, _, stderr := runExport(t, srv, "-since=2026-12-01T09:02:00Z", "-until=2026-12-01T09:05:00Z", "-out", out, "-public-key-out", out+".pem", logs[0], logs[1])
	if code != 0 || !strings.HasPrefix(stderr, "Warning: the log does not verify outside the exported range: "+logs[1]+":") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if code, msg := verifyWith(t, out+".pem", out); code != 0 {
		t.Errorf("verify-bundle: exit %d: %s", code, msg)
	}
}

func TestParseWhen(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-12-01T09:00:00Z", time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), true},
		{"2026-12-01T10:00:00.5+01:00", time.Date(2026, 12, 1, 9, 0, 0, 5e8, time.UTC), true},
		{"24h", now.Add(-24 * time.Hour), true},
		{"90m", now.Add(-90 * time.Minute), true},
		{"7d", now.Add(-7 * 24 * time.Hour), true},
		{"3600", now.Add(-time.Hour), true},
		{"0", now, true},
		{"-1h", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2026-12-01", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseWhen("since", tt.in, now)
		if (err == nil) != tt.ok || tt.ok && !got.Equal(tt.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
