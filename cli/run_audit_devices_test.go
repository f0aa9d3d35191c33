package cli

import (
	"encoding/json"
	"testing"
)

const (
	auditListReply = `{"file/":{"type":"file"},"request_id":"r","data":{` +
		`"file/":{"type":"file","description":"main log","options":{"file_path":"/var/log/vault/audit.log"},"local":false,"path":"file/"},` +
		`"sock/":{"type":"socket","description":"","options":{"address":"127.0.0.1:9090","socket_type":"tcp"},"local":true,"path":"sock/"}}}`
	auditHashReply = `{"data":{"hash":"hmac-sha256:9f3c","generation":4}}`
)

func publicKeyReply(t *testing.T, k auditKeys, keyID string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"data": map[string]any{"public_key": pemPublicKey(t, k.pub), "key_id": keyID, "algorithm": "ed25519"}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunAuditDevices(t *testing.T) {
	t.Parallel()
	k := newAuditKeys(1)
	keyReply := publicKeyReply(t, k, auditKeyID(k))
	list := map[string]reply{"GET /v1/sys/audit": {200, auditListReply}}
	runCases(t, []runCase{
		{name: "audit list", args: []string{"audit", "list"}, routes: list, golden: true, requests: []string{"GET /v1/sys/audit"}},
		{name: "audit list detailed", args: []string{"audit", "list", "-detailed"}, routes: list, golden: true},
		{name: "audit list json", args: []string{"audit", "list", "-format=json"}, routes: list, golden: true},
		{name: "audit list none", args: []string{"audit", "list"}, routes: map[string]reply{"GET /v1/sys/audit": {200, `{"data":{}}`}},
			stdout: "No audit devices are enabled.\n"},
		{name: "audit list forbidden", args: []string{"audit", "list"},
			routes: map[string]reply{"GET /v1/sys/audit": {403, `{"errors":["permission denied"]}`}}, code: 1,
			stderr: "Error: listing audit devices: list audit devices: client: GET /v1/sys/audit: 403 Forbidden: permission denied\n"},
		{name: "audit enable", args: []string{"audit", "enable", "file", "file_path=/var/log/a.log", "mode=0600"},
			routes:   map[string]reply{"PUT /v1/sys/audit/file": {204, ""}},
			stdout:   "Success! Enabled the file audit device at: file/\n",
			requests: []string{`PUT /v1/sys/audit/file {"options":{"file_path":"/var/log/a.log","mode":"0600"},"type":"file"}`}},
		{name: "audit enable flags", args: []string{"audit", "enable", "-path=/ops/log/", "-description", "ops", "-local", "socket", "address=127.0.0.1:9"},
			routes:   map[string]reply{"PUT /v1/sys/audit/ops/log": {204, ""}},
			stdout:   "Success! Enabled the socket audit device at: ops/log/\n",
			requests: []string{`PUT /v1/sys/audit/ops/log {"description":"ops","local":true,"options":{"address":"127.0.0.1:9"},"type":"socket"}`}},
		{name: "audit enable json is silent", args: []string{"audit", "enable", "-format=json", "file"},
			routes: map[string]reply{"PUT /v1/sys/audit/file": {204, ""}}, stdout: ""},
		{name: "audit enable option without value", args: []string{"audit", "enable", "file", "file_path"}, code: 2,
			stderr: `device option "file_path" is not KEY=VALUE`, requests: []string{}},
		{name: "audit enable option first", args: []string{"audit", "enable", "file_path=/x"}, code: 2,
			stderr: "the first argument is the device TYPE", requests: []string{}},
		{name: "audit enable bad path", args: []string{"audit", "enable", "-path=a/../b", "file"}, code: 2,
			stderr: `invalid audit device path "a/../b"`, requests: []string{}},
		{name: "audit enable refused", args: []string{"audit", "enable", "file"},
			routes: map[string]reply{"PUT /v1/sys/audit/file": {400, `{"errors":["file_path is required"]}`}}, code: 1,
			stderr: "Error: enabling file audit device at file: enable audit device file: client: PUT /v1/sys/audit/file: 400 Bad Request: file_path is required\n"},
		{name: "audit disable", args: []string{"audit", "disable", "file/"},
			routes: map[string]reply{"DELETE /v1/sys/audit/file": {204, ""}},
			stdout: "Success! Disabled audit device (if it was enabled) at: file/\n", requests: []string{"DELETE /v1/sys/audit/file"}},
		{name: "audit disable no path", args: []string{"audit", "disable", "/"}, code: 2, stderr: "invalid audit device path", requests: []string{}},
		{name: "audit hash", args: []string{"audit", "hash", "file/", "s.mytoken"},
			routes: map[string]reply{"PUT /v1/sys/audit-hash/file": {200, auditHashReply}}, stdout: "hmac-sha256:9f3c",
			requests: []string{`PUT /v1/sys/audit-hash/file {"input":"s.mytoken"}`}},
		{name: "audit hash stdin generation", args: []string{"audit", "hash", "-generation=0", "file", "-"}, stdin: "hunter2\n",
			routes: map[string]reply{"PUT /v1/sys/audit-hash/file": {200, auditHashReply}}, stdout: "hmac-sha256:9f3c",
			requests: []string{`PUT /v1/sys/audit-hash/file {"generation":0,"input":"hunter2"}`}},
		{name: "audit hash json", args: []string{"audit", "hash", "-format=json", "file", "x"},
			routes: map[string]reply{"PUT /v1/sys/audit-hash/file": {200, auditHashReply}},
			stdout: "{\n  \"hash\": \"hmac-sha256:9f3c\",\n  \"generation\": 4\n}\n"},
		{name: "audit hash empty stdin", args: []string{"audit", "hash", "file", "-"}, code: 2, stderr: "no input on stdin", requests: []string{}},
		{name: "audit hash one argument", args: []string{"audit", "hash", "file"}, code: 2, stderr: "expected 2 argument(s), got 1"},
		{name: "audit hash unknown device", args: []string{"audit", "hash", "nope", "SENTINEL-IN"},
			routes: map[string]reply{"PUT /v1/sys/audit-hash/nope": {400, `{"errors":["no audit device at nope/"]}`}}, code: 1,
			stderr: "no audit device at nope/"},
		{name: "audit public-key", args: []string{"audit", "public-key", "file/"},
			routes: map[string]reply{"GET /v1/sys/audit/file/public-key": {200, keyReply}}, stdout: pemPublicKey(t, k.pub),
			requests: []string{"GET /v1/sys/audit/file/public-key"}},
		{name: "audit public-key json", args: []string{"audit", "public-key", "-format=json", "file"},
			routes: map[string]reply{"GET /v1/sys/audit/file/public-key": {200, keyReply}}, golden: true},
		{name: "audit public-key wrong id", args: []string{"audit", "public-key", "file"},
			routes: map[string]reply{"GET /v1/sys/audit/file/public-key": {200, publicKeyReply(t, k, "0000000000000000")}}, code: 1,
			stderr: "the server names its key 0000000000000000, the key's id is " + auditKeyID(k)},
		{name: "audit public-key missing", args: []string{"audit", "public-key", "file"}, code: 1,
			stderr: "Error: reading the public key of audit device file: read audit public key of file: client: GET /v1/sys/audit/file/public-key: 404 Not Found\n"},
		{name: "audit group help", args: []string{"audit", "-help"}, golden: true},
		{name: "audit list help", args: []string{"audit", "list", "-help"}, golden: true},
		{name: "audit enable help", args: []string{"audit", "enable", "-help"}, golden: true},
		{name: "audit disable help", args: []string{"audit", "disable", "-help"}, golden: true},
		{name: "audit hash help", args: []string{"audit", "hash", "-help"}, golden: true},
		{name: "audit public-key help", args: []string{"audit", "public-key", "-help"}, golden: true},
	})
}
