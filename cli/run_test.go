package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// These tests run whole vaultctl command lines through Run against a
// scripted HTTP server: each route returns a canned Vault API answer and
// every request is recorded, so a test checks the exact requests a command
// sends, what it prints and its exit code. End-to-end tests against a real
// vaultd live elsewhere.

// reply is a canned answer.
type reply struct {
	status int
	body   string
}

// scripted serves canned answers keyed by "METHOD /v1/path"; anything
// else is 404 {"errors":[]}.
type scripted struct {
	mu     sync.Mutex
	routes map[string]reply
	got    []string // "METHOD /path?query body"
	tokens []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	line := key
	if r.URL.RawQuery != "" {
		line += "?" + r.URL.RawQuery
	}
	if len(b) > 0 {
		line += " " + canonicalJSON(b)
	}
	s.mu.Lock()
	s.got = append(s.got, line)
	s.tokens = append(s.tokens, r.Header.Get("X-Vault-Token"))
	rep, ok := s.routes[key]
	s.mu.Unlock()
	if !ok {
		rep = reply{404, `{"errors":[]}`}
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

// canonicalJSON re-encodes a JSON body with sorted keys.
func canonicalJSON(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

const (
	sealedStatus   = `{"type":"shamir","initialized":true,"sealed":true,"t":3,"n":5,"progress":2,"nonce":"abc","version":"0.1.0","storage_type":"raft"}`
	unsealedStatus = `{"type":"shamir","initialized":true,"sealed":false,"t":3,"n":5,"progress":0,"nonce":"","version":"0.1.0","storage_type":"raft","cluster_name":"c1","cluster_id":"id-1"}`
	kvGetReply     = `{"request_id":"r","data":{"data":{"password":"hunter2","port":5432},"metadata":{"created_time":"2024-01-02T03:04:05Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":2}}}`
	kvPutReply     = `{"data":{"created_time":"2024-01-02T03:04:05.5Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":3}}`
	kvMetaReply    = `{"data":{"cas_required":false,"created_time":"2024-01-02T03:04:05Z","current_version":%d,"delete_version_after":"0s","max_versions":0,"oldest_version":1,"updated_time":"2024-01-02T03:04:05Z","versions":{"1":{"created_time":"2024-01-02T03:04:05Z","deletion_time":"","destroyed":false}}}}`
)

func valueReply(v string) string {
	b, _ := json.Marshal(map[string]any{"data": map[string]any{"data": map[string]any{"value": v},
		"metadata": map[string]any{"version": 1, "created_time": "2024-01-02T03:04:05Z", "deletion_time": ""}}})
	return string(b)
}

func metaReply(current int) string {
	return strings.Replace(kvMetaReply, "%d", itoa(current), 1)
}

// credRoutes is a named-secrets tree: app/db.password, app/web/key, top,
// and legacy (not written by secrets put), and gone (latest deleted).
func credRoutes() map[string]reply {
	return map[string]reply{
		"LIST /v1/secret/metadata/":               {200, `{"data":{"keys":["app/","gone","legacy","top"]}}`},
		"LIST /v1/secret/metadata/app/":           {200, `{"data":{"keys":["db.password","web/"]}}`},
		"LIST /v1/secret/metadata/app/web/":       {200, `{"data":{"keys":["key"]}}`},
		"GET /v1/secret/metadata/app/db.password": {200, metaReply(3)},
		"GET /v1/secret/metadata/app/web/key":     {200, metaReply(1)},
		"GET /v1/secret/metadata/gone":            {200, metaReply(2)},
		"GET /v1/secret/metadata/legacy":          {200, metaReply(1)},
		"GET /v1/secret/metadata/top":             {200, metaReply(7)},
		"GET /v1/secret/data/app/db.password":     {200, valueReply("hunter2")},
		"GET /v1/secret/data/app/web/key":         {200, valueReply("-----BEGIN KEY-----\nabc\n")},
		"GET /v1/secret/data/gone":                {404, `{"errors":[]}`},
		"GET /v1/secret/data/legacy":              {200, kvGetReply},
		"GET /v1/secret/data/top":                 {200, valueReply("t,op")},
	}
}

type runCase struct {
	name     string
	args     []string
	env      map[string]string
	stdin    string
	routes   map[string]reply
	code     int
	golden   bool   // compare stdout with testdata/run_<name>.golden
	stdout   string // else compare stdout exactly
	stderr   string // substring expected on stderr ("" : stderr must be empty)
	requests []string
}

func runCases(t *testing.T, tests []runCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &scripted{routes: tt.routes}
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			env := map[string]string{"VAULT_ADDR": hs.URL, "VAULT_TOKEN": "s.roottoken"}
			for k, v := range tt.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), tt.args, strings.NewReader(tt.stdin), &stdout, &stderr,
				func(k string) string { return env[k] })
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if tt.golden {
				checkGolden(t, "run_"+strings.ReplaceAll(tt.name, " ", "_"), stdout.Bytes())
			} else if stdout.String() != tt.stdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.stdout)
			}
			if tt.stderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderr)
			}
			if strings.Contains(stderr.String(), "s.roottoken") {
				t.Errorf("stderr leaks the token: %q", stderr.String())
			}
			if tt.requests != nil && (len(srv.got) > 0 || len(tt.requests) > 0) && !reflect.DeepEqual(srv.got, tt.requests) {
				t.Errorf("requests =\n  %q\nwant\n  %q", srv.got, tt.requests)
			}
			for _, tok := range srv.tokens {
				if tok != env["VAULT_TOKEN"] && env["VAULT_TOKEN"] != "" {
					t.Errorf("request carried token %q", tok)
				}
			}
		})
	}
}

func TestRunGeneral(t *testing.T) {
	t.Parallel()
	runCases(t, []runCase{
		{name: "status unsealed", args: []string{"status"}, routes: map[string]reply{"GET /v1/sys/seal-status": {200, unsealedStatus}},
			golden: true},
		{name: "status sealed exits 2", args: []string{"status"}, routes: map[string]reply{"GET /v1/sys/seal-status": {200, sealedStatus}},
			code: 2, golden: true},
		{name: "status json", args: []string{"-format=json", "status"},
			routes: map[string]reply{"GET /v1/sys/seal-status": {200, unsealedStatus}}, golden: true},
		{name: "status yaml from env", args: []string{"status"}, env: map[string]string{"VAULT_FORMAT": "yaml"},
			routes: map[string]reply{"GET /v1/sys/seal-status": {200, unsealedStatus}}, golden: true},
		{name: "status server down", args: []string{"status"}, env: map[string]string{"VAULT_ADDR": "http://127.0.0.1:1"},
			code: 1, stderr: "connection refused"},
		{name: "no command", args: nil, code: 2, stderr: "Usage:"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `unknown subcommand "frobnicate"`},
		{name: "unknown flag", args: []string{"status", "-bogus"}, code: 2, stderr: "unknown shorthand flag"},
		{name: "bad format", args: []string{"status", "-format=xml"}, code: 2, stderr: `unknown format "xml"`},
		{name: "help exits 0", args: []string{"kv", "put", "-h"}, code: 0, stderr: "", golden: true},
		{name: "operator init", args: []string{"operator", "init", "-key-shares=1", "-key-threshold=1"},
			routes: map[string]reply{"PUT /v1/sys/init": {200, `{"keys":["ab"],"keys_base64":["qw=="],"root_token":"s.new"}`}},
			golden: true, requests: []string{`PUT /v1/sys/init {"secret_shares":1,"secret_threshold":1}`}},
		{name: "operator init bad threshold", args: []string{"operator", "init", "-key-shares=2", "-key-threshold=3"},
			code: 2, stderr: "key-threshold", requests: []string{}},
		{name: "operator init status", args: []string{"operator", "init", "-status"},
			routes: map[string]reply{"GET /v1/sys/init": {200, `{"initialized":false}`}}, code: 2, stdout: "Vault is not initialized\n"},
		{name: "operator unseal stdin", args: []string{"operator", "unseal"}, stdin: "  key-one \n",
			routes: map[string]reply{"PUT /v1/sys/unseal": {200, sealedStatus}}, golden: true,
			requests: []string{`PUT /v1/sys/unseal {"key":"key-one"}`}},
		{name: "operator unseal arg", args: []string{"operator", "unseal", "k2"},
			routes: map[string]reply{"PUT /v1/sys/unseal": {200, unsealedStatus}}, golden: true,
			requests: []string{`PUT /v1/sys/unseal {"key":"k2"}`}},
		{name: "operator unseal reset", args: []string{"operator", "unseal", "-reset"},
			routes: map[string]reply{"PUT /v1/sys/unseal": {200, sealedStatus}}, golden: true,
			requests: []string{`PUT /v1/sys/unseal {"reset":true}`}},
		{name: "operator unseal empty stdin", args: []string{"operator", "unseal"}, code: 2, stderr: "no unseal key",
			requests: []string{}},
		{name: "operator seal", args: []string{"operator", "seal"}, routes: map[string]reply{"PUT /v1/sys/seal": {204, ""}},
			stdout: "Success! Vault is sealed.\n", requests: []string{"PUT /v1/sys/seal"}},
		{name: "permission denied", args: []string{"operator", "seal"},
			routes: map[string]reply{"PUT /v1/sys/seal": {403, `{"errors":["permission denied"]}`}},
			code:   1, stderr: "Error: sealing: seal: client: PUT /v1/sys/seal: 403 Forbidden: permission denied\n"},
	})
}

func TestRunGenericPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(certFile, []byte("PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	readReply := `{"request_id":"r","lease_id":"","lease_duration":2764800,"renewable":false,"data":{"password":"hunter2","ttl":30},"warnings":["deprecated path"]}`
	runCases(t, []runCase{
		{name: "read", args: []string{"read", "secret/foo"}, routes: map[string]reply{"GET /v1/secret/foo": {200, readReply}},
			golden: true, stderr: "deprecated path"},
		{name: "read query and field", args: []string{"read", "-field=password", "secret/foo", "version=2"},
			routes: map[string]reply{"GET /v1/secret/foo": {200, readReply}}, stdout: "hunter2\n",
			requests: []string{"GET /v1/secret/foo?version=2"}},
		{name: "read json keeps warnings in output", args: []string{"read", "-format=json", "secret/foo"},
			routes: map[string]reply{"GET /v1/secret/foo": {200, readReply}}, golden: true},
		{name: "read missing", args: []string{"read", "secret/nope"}, code: 2, stderr: "No value found at secret/nope\n"},
		{name: "write", args: []string{"write", "secret/foo", "a=b", "cert=@" + certFile, "pw=-", "p=x", "p=y"},
			stdin: "s3cr3t", routes: map[string]reply{"PUT /v1/secret/foo": {204, ""}},
			stdout:   "Success! Data written to: secret/foo\n",
			requests: []string{`PUT /v1/secret/foo {"a":"b","cert":"PEM\n","p":["x","y"],"pw":"s3cr3t"}`}},
		{name: "write json stdin with answer", args: []string{"write", "-field=n", "transit/x", "-"}, stdin: `{"n":12345678901234567890}`,
			routes: map[string]reply{"PUT /v1/transit/x": {200, `{"data":{"n":12345678901234567890}}`}}, stdout: "12345678901234567890\n",
			requests: []string{`PUT /v1/transit/x {"n":12345678901234567890}`}},
		{name: "write needs data", args: []string{"write", "secret/foo"}, code: 2, stderr: "must supply data or use -force",
			requests: []string{}},
		{name: "write force", args: []string{"write", "-f", "sys/rotate"}, routes: map[string]reply{"PUT /v1/sys/rotate": {204, ""}},
			stdout: "Success! Data written to: sys/rotate\n", requests: []string{"PUT /v1/sys/rotate {}"}},
		{name: "write bad arg", args: []string{"write", "secret/foo", "novalue"}, code: 2, stderr: "not key=value"},
		{name: "list", args: []string{"list", "secret/metadata"}, routes: map[string]reply{"LIST /v1/secret/metadata": {200, `{"data":{"keys":["a","b/"]}}`}},
			stdout: "Keys\n----\na\nb/\n"},
		{name: "list json", args: []string{"list", "-format", "json", "secret/metadata"},
			routes: map[string]reply{"LIST /v1/secret/metadata": {200, `{"data":{"keys":["a","b/"]}}`}}, stdout: "[\n  \"a\",\n  \"b/\"\n]\n"},
		{name: "list empty", args: []string{"list", "secret/metadata/none"}, code: 2, stderr: "No value found at secret/metadata/none"},
		{name: "delete", args: []string{"delete", "secret/foo"}, routes: map[string]reply{"DELETE /v1/secret/foo": {204, ""}},
			stdout: "Success! Data deleted (if it existed) at: secret/foo\n"},
		{name: "delete json is silent", args: []string{"-format=json", "delete", "secret/foo"},
			routes: map[string]reply{"DELETE /v1/secret/foo": {204, ""}}, stdout: ""},
		{name: "token file", args: []string{"delete", "secret/foo"}, routes: map[string]reply{"DELETE /v1/secret/foo": {204, ""}},
			env: map[string]string{"VAULT_TOKEN": "", "HOME": tokenHome(t)}, stdout: "Success! Data deleted (if it existed) at: secret/foo\n"},
	})
}

// tokenHome makes a HOME holding a .vault-token file.
func tokenHome(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".vault-token"), []byte("s.fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunTokenFileIsSent(t *testing.T) {
	t.Parallel()
	srv := &scripted{routes: map[string]reply{"DELETE /v1/x/y": {204, ""}}}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	env := map[string]string{"VAULT_ADDR": hs.URL, "HOME": tokenHome(t)}
	code := Run(context.Background(), []string{"delete", "x/y"}, nil, io.Discard, io.Discard, func(k string) string { return env[k] })
	if code != 0 || len(srv.tokens) != 1 || srv.tokens[0] != "s.fromfile" {
		t.Fatalf("code %d tokens %q", code, srv.tokens)
	}
}

func TestRunAddressFlagBeatsEnv(t *testing.T) {
	t.Parallel()
	srv := &scripted{routes: map[string]reply{"GET /v1/sys/seal-status": {200, unsealedStatus}}}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	env := map[string]string{"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "s.t"}
	var stderr bytes.Buffer
	code := Run(context.Background(), []string{"status", "-address=" + hs.URL}, nil, io.Discard, &stderr,
		func(k string) string { return env[k] })
	if code != 0 || len(srv.got) != 1 {
		t.Fatalf("code %d, requests %q, stderr %q", code, srv.got, stderr.String())
	}
	code = Run(context.Background(), []string{"status", "-ca-cert=/nonexistent/ca.pem", "-address=" + hs.URL}, nil,
		io.Discard, &stderr, func(k string) string { return env[k] })
	if code != 1 || !strings.Contains(stderr.String(), "read CA certificate") {
		t.Fatalf("missing CA file: code %d, stderr %q", code, stderr.String())
	}
}
