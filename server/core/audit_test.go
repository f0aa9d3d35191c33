package core_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// enableFileAudit enables a file device at path with extra options.
func enableFileAudit(t *testing.T, c *core.Core, root, path, file string, extra map[string]any) {
	t.Helper()
	opts := map[string]any{"file_path": file}
	for k, v := range extra {
		opts[k] = v
	}
	mustDo(t, c, root, logical.UpdateOperation, "sys/audit/"+path, map[string]any{"type": "file", "options": opts})
}

// logLines reads an audit file as decoded lines.
func logLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", len(out)+1, err)
		}
		out = append(out, m)
	}
	return out
}

// entriesFor returns the request and response lines of path.
func entriesFor(lines []map[string]any, path string) (reqs, resps []map[string]any) {
	for _, l := range lines {
		r, _ := l["request"].(map[string]any)
		if r == nil || r["path"] != path {
			continue
		}
		switch l["type"] {
		case "request":
			reqs = append(reqs, l)
		case "response":
			resps = append(resps, l)
		}
	}
	return reqs, resps
}

// publicKey reads a device's public key through the API.
func publicKey(t *testing.T, c *core.Core, root, path string) ed25519.PublicKey {
	t.Helper()
	resp := mustDo(t, c, root, logical.ReadOperation, "sys/audit/"+path+"/public-key", nil)
	b, _ := pem.Decode([]byte(resp.Data["public_key"].(string)))
	if b == nil {
		t.Fatalf("public key is not PEM: %v", resp.Data)
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.(ed25519.PublicKey)
	if resp.Data["key_id"] != audit.KeyID(pub) {
		t.Fatalf("key_id %v does not name the key", resp.Data["key_id"])
	}
	return pub
}

// verified waits for a disabled device to write its closing checkpoint
// (it closes once the request disabling it is answered) and verifies the
// log.
func verified(t *testing.T, pub ed25519.PublicKey, files ...string) audit.Report {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rep, err := audit.Verify(pub, files...)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK {
			return rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("verify %v: %+v", files, *rep.Problem)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAuditRecordsRequestsAndResponses(t *testing.T) {
	c, res := newCore(t)
	root := res.RootToken
	file := filepath.Join(t.TempDir(), "audit.log")
	enableFileAudit(t, c, root, "file", file, nil)
	mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	mustDo(t, c, root, logical.UpdateOperation, "secret/data/app", map[string]any{"data": map[string]any{"password": "s3ntinel-kv"}})
	if _, err := do(t, c, root, logical.ReadOperation, "secret/data/missing", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("missing secret: %v", err)
	}
	mustDo(t, c, root, logical.ReadOperation, "sys/health", nil)

	list := mustDo(t, c, root, logical.ReadOperation, "sys/audit", nil)
	dev, ok := list.Data["file/"].(map[string]any)
	if !ok || dev["type"] != "file" || dev["path"] != "file/" || dev["options"].(map[string]any)["file_path"] != file {
		t.Fatalf("sys/audit = %v", list.Data)
	}
	lines := logLines(t, file)
	reqs, resps := entriesFor(lines, "secret/data/app")
	if len(reqs) != 1 || len(resps) != 1 {
		t.Fatalf("secret/data/app: %d request and %d response entries", len(reqs), len(resps))
	}
	req := reqs[0]["request"].(map[string]any)
	if req["operation"] != "create" || req["mount_type"] != "kv" || req["id"] == "" {
		t.Fatalf("request entry %v", req)
	}
	auth := reqs[0]["auth"].(map[string]any)
	if tok, _ := auth["client_token"].(string); !strings.HasPrefix(tok, "hmac-sha256:") {
		t.Fatalf("client_token %q is not HMAC'd", tok)
	}
	if p := auth["policies"].([]any); len(p) != 1 || p[0] != "root" {
		t.Fatalf("auth.policies = %v", p)
	}
	hashed := req["data"].(map[string]any)["data"].(map[string]any)["password"].(string)
	gen := uint64(reqs[0]["hmac_key_gen"].(float64))
	h := mustDo(t, c, root, logical.UpdateOperation, "sys/audit-hash/file", map[string]any{"input": "s3ntinel-kv", "generation": gen})
	if h.Data["hash"] != hashed {
		t.Fatalf("audit-hash %v, log holds %q", h.Data["hash"], hashed)
	}
	if s := resps[0]["response"].(map[string]any)["status_code"]; s != float64(200) && s != float64(204) {
		t.Fatalf("response status %v", s)
	}
	_, missing := entriesFor(lines, "secret/data/missing")
	if len(missing) != 1 || missing[0]["error"] == "" || missing[0]["response"].(map[string]any)["status_code"] != float64(404) {
		t.Fatalf("missing secret's response entry: %v", missing)
	}
	if r, _ := entriesFor(lines, "sys/health"); len(r) != 0 {
		t.Fatal("sys/health was audited by default")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3ntinel-kv", root} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("the audit log holds a secret in the clear (%d bytes of it)", len(secret))
		}
	}
	pub := publicKey(t, c, root, "file")
	resealed(t, c, res) // closes the device (a final checkpoint), reopens it
	mustDo(t, c, root, logical.ReadOperation, "secret/data/app", nil)
	mustDo(t, c, root, logical.DeleteOperation, "sys/audit/file", nil)
	rep := verified(t, pub, file)
	if rep.Checkpoints < 4 || rep.Segments != 2 {
		t.Fatalf("verify saw %d checkpoints, want an open and a close per run", rep.Checkpoints)
	}
}

func TestAuditFailsClosed(t *testing.T) {
	phys := inmem.New()
	c, res := newCoreWith(t, core.Config{Physical: phys})
	root := res.RootToken
	good := filepath.Join(t.TempDir(), "good.log")
	mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	enableFileAudit(t, c, root, "good", good, nil)
	enableFileAudit(t, c, root, "full", "/dev/full", nil)
	// One device failing, one healthy: requests are served.
	mustDo(t, c, root, logical.UpdateOperation, "secret/data/a", map[string]any{"data": map[string]any{"v": "1"}})
	if n := c.AuditFailures()["full/"]; n < 2 {
		t.Fatalf("failures of full/ = %d, want its request and response entries counted", n)
	}
	mustDo(t, c, root, logical.DeleteOperation, "sys/audit/good", nil)
	before := countKeys(t, phys, "logical/")
	_, err := do(t, c, root, logical.UpdateOperation, "secret/data/b", map[string]any{"data": map[string]any{"v": "2"}})
	if !errors.Is(err, core.ErrAuditFailed) {
		t.Fatalf("write with no working device: %v, want ErrAuditFailed", err)
	}
	if after := countKeys(t, phys, "logical/"); after != before {
		t.Fatalf("a refused request changed storage: %d keys -> %d", before, after)
	}
}

// countKeys counts every key under prefix.
func countKeys(t *testing.T, b interface {
	List(context.Context, string) ([]string, error)
}, prefix string) int {
	t.Helper()
	keys, err := b.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			n += countKeys(t, b, prefix+k)
			continue
		}
		n++
	}
	return n
}

func TestAuditDeviceOptionsAndConfig(t *testing.T) {
	dir := t.TempDir()
	declared := filepath.Join(dir, "declared.log")
	c, res := newCoreWith(t, core.Config{Physical: inmem.New(), Audit: core.AuditConfig{
		Devices: []core.AuditDeclaration{{Type: "file", Path: "ops", Options: map[string]string{"file_path": declared}}},
	}})
	root := res.RootToken
	for _, tc := range []struct {
		name string
		data map[string]any
	}{
		{"log_raw not allowed", map[string]any{"type": "file", "options": map[string]any{"file_path": filepath.Join(dir, "x"), "log_raw": "true"}}},
		{"prefix not allowed", map[string]any{"type": "file", "options": map[string]any{"file_path": filepath.Join(dir, "x"), "prefix": "#!"}}},
		{"unknown type", map[string]any{"type": "nope"}},
		{"unknown option", map[string]any{"type": "file", "options": map[string]any{"file_path": filepath.Join(dir, "x"), "colour": "red"}}},
		{"missing file_path", map[string]any{"type": "file"}},
		{"jsonx", map[string]any{"type": "file", "options": map[string]any{"file_path": filepath.Join(dir, "x"), "format": "jsonx"}}},
		{"unwritable directory", map[string]any{"type": "file", "options": map[string]any{"file_path": filepath.Join(dir, "no", "such", "dir", "a.log")}}},
		{"path in use", map[string]any{"type": "file", "options": map[string]any{"file_path": filepath.Join(dir, "y")}, "path": "ops"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "sys/audit/bad"
			if p, ok := tc.data["path"]; ok {
				path = "sys/audit/" + p.(string)
			}
			if _, err := do(t, c, root, logical.UpdateOperation, path, tc.data); !errors.Is(err, logical.ErrInvalidRequest) {
				t.Fatalf("got %v, want a 400", err)
			}
		})
	}
	list := mustDo(t, c, root, logical.ReadOperation, "sys/audit", nil)
	if len(list.Data) != 1 || list.Data["ops/"].(map[string]any)["declared"] != true {
		t.Fatalf("sys/audit = %v", list.Data)
	}
	if _, err := do(t, c, root, logical.DeleteOperation, "sys/audit/ops", nil); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("disabling a declared device: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
		t.Fatalf("a refused device left a file behind: %v", err)
	}
	if len(logLines(t, declared)) == 0 {
		t.Fatal("the declared device recorded nothing")
	}
}

func TestAuditAPIChangesCanBeDisabled(t *testing.T) {
	c, res := newCoreWith(t, core.Config{Physical: inmem.New(), Audit: core.AuditConfig{DisableAPIChanges: true}})
	_, err := do(t, c, res.RootToken, logical.UpdateOperation, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": filepath.Join(t.TempDir(), "a.log")}})
	if !errors.Is(err, logical.ErrInvalidRequest) || !strings.Contains(err.Error(), "server configuration") {
		t.Fatalf("enable with API changes disabled: %v", err)
	}
}

func TestAuditRotationByRename(t *testing.T) {
	c, res := newCore(t)
	root := res.RootToken
	file := filepath.Join(t.TempDir(), "audit.log")
	enableFileAudit(t, c, root, "file", file, nil)
	pub := publicKey(t, c, root, "file")
	mustDo(t, c, root, logical.ReadOperation, "sys/audit", nil)
	if err := os.Rename(file, file+".1"); err != nil {
		t.Fatal(err)
	}
	if err := c.ReopenAuditFiles(); err != nil {
		t.Fatal(err)
	}
	mustDo(t, c, root, logical.ReadOperation, "sys/audit", nil)
	mustDo(t, c, root, logical.DeleteOperation, "sys/audit/file", nil)
	if rep := verified(t, pub, file+".1", file); rep.Segments != 2 {
		t.Fatalf("verify across rotation: %d segments, want 2", rep.Segments)
	}
}

// TestAuditDeviceRejoinsOnItsOwn: a device that cannot be opened when the
// node becomes active (its directory is missing) fails closed, and is
// opened on its own once it can be.
func TestAuditDeviceRejoinsOnItsOwn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	c, res := newCoreWith(t, core.Config{Physical: inmem.New(), Audit: core.AuditConfig{
		Devices: []core.AuditDeclaration{{Type: "file", Path: "ops", Options: map[string]string{"file_path": filepath.Join(dir, "audit.log")}}},
	}})
	root := res.RootToken
	if _, err := do(t, c, root, logical.ReadOperation, "sys/mounts", nil); !errors.Is(err, core.ErrAuditFailed) {
		t.Fatalf("request with the only device unavailable: %v, want ErrAuditFailed", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := do(t, c, root, logical.ReadOperation, "sys/mounts", nil)
		if err == nil {
			break
		}
		if !errors.Is(err, core.ErrAuditFailed) || time.Now().After(deadline) {
			t.Fatalf("device did not rejoin: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r, _ := entriesFor(logLines(t, filepath.Join(dir, "audit.log")), "sys/mounts"); len(r) == 0 {
		t.Fatal("the rejoined device recorded nothing")
	}
}

// TestAuditStalledSocketIsBounded: a socket device whose peer stops
// reading never holds a request longer than the device's bounded wait;
// with a healthy file device beside it requests succeed, alone they are
// refused.
func TestAuditStalledSocketIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	defer func() {
		if conn, ok := <-held; ok {
			conn.Close()
		}
	}()
	go func() {
		// One connection, accepted and never read; then the peer
		// accepts no more (a hung collector).
		conn, err := ln.Accept()
		if err == nil {
			held <- conn
		}
		close(held)
		ln.Close()
	}()
	c, res := newCore(t)
	root := res.RootToken
	mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	mustDo(t, c, root, logical.UpdateOperation, "sys/audit/sock", map[string]any{"type": "socket", "options": map[string]any{
		"address": ln.Addr().String(), "write_timeout": "300ms", "wait": "300ms",
	}})
	enableFileAudit(t, c, root, "file", filepath.Join(t.TempDir(), "audit.log"), nil)
	// Values are HMAC'd (64 hex digits each) but keys are not: many long
	// keys make big lines.
	big := map[string]any{}
	for i := range 2048 {
		big[fmt.Sprintf("%s-%d", strings.Repeat("k", 100), i)] = "v"
	}
	const bound = 5 * time.Second // many times the 300 ms wait
	// Loopback buffers take megabytes before the peer's silence shows.
	for i := 0; i < 200 && c.AuditFailures()["sock/"] == 0; i++ {
		start := time.Now()
		if _, err := do(t, c, root, logical.UpdateOperation, "secret/data/big", map[string]any{"data": big}); err != nil {
			t.Fatalf("write %d with a healthy device beside the stalled one: %v", i, err)
		}
		if d := time.Since(start); d > bound {
			t.Fatalf("write %d took %v with a stalled socket device", i, d)
		}
	}
	if c.AuditFailures()["sock/"] == 0 {
		t.Fatal("the stalled socket device's failures were not counted")
	}
	mustDo(t, c, root, logical.DeleteOperation, "sys/audit/file", nil)
	start := time.Now()
	_, err = do(t, c, root, logical.UpdateOperation, "secret/data/big", map[string]any{"data": big})
	if !errors.Is(err, core.ErrAuditFailed) || time.Since(start) > bound {
		t.Fatalf("with only the stalled device: %v after %v, want ErrAuditFailed within %v", err, time.Since(start), bound)
	}
}
