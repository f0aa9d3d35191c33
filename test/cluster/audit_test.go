package cluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/secretumvault/secretumvault/audit"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// auditFileName is the per-node device's relative file_path: each vaultd
// runs in its own directory, so each node writes its own file there.
const auditFileName = "audit.log"

// auditRecord is one line of a file audit log as these tests read it:
// Vault's fields plus the chain's.
type auditRecord struct {
	Type       string          `json:"type"`
	Time       string          `json:"time"`
	Seq        uint64          `json:"seq"`
	HMACKeyGen uint64          `json:"hmac_key_gen"`
	Auth       *recordAuth     `json:"auth"`
	Request    *recordRequest  `json:"request"`
	Response   *recordResponse `json:"response"`
	Error      string          `json:"error"`
	Cedar      *recordCedar    `json:"cedar"`
}

// recordAuth is an entry's auth object.
type recordAuth struct {
	ClientToken string   `json:"client_token"`
	Accessor    string   `json:"accessor"`
	Policies    []string `json:"policies"`
}

// recordRequest is an entry's request object.
type recordRequest struct {
	ID            string         `json:"id"`
	Operation     string         `json:"operation"`
	Path          string         `json:"path"`
	MountType     string         `json:"mount_type"`
	RemoteAddress string         `json:"remote_address"`
	Data          map[string]any `json:"data"`
}

// recordResponse is a response entry's response object.
type recordResponse struct {
	StatusCode int            `json:"status_code"`
	Data       map[string]any `json:"data"`
}

// recordCedar is an entry's authorization decision.
type recordCedar struct {
	Decision string `json:"decision"`
}

// auditCluster is the state TestAuditCluster's steps share.
type auditCluster struct {
	c      *Cluster
	root   string
	shared string // the shared device's file, one absolute path for all nodes
	pubPEM map[string]string
	pub    map[string]ed25519.PublicKey
	// forbidden are values no audit file may hold, by name.
	forbidden map[string]string
	start     time.Time
}

// TestAuditCluster runs audit devices on a 3-node cluster of real vaultd
// processes: "file/", whose relative file_path makes every node write its
// own file in its own directory, and "shared/", one absolute file all
// nodes write in turn. Its steps share the cluster and run in order:
// entries of REST and gRPC requests on the active node and through a
// standby, rename rotation on SIGHUP, sentinels, two leadership changes
// with restarts, verification of every file, tampering, and a search of
// every file of every node for the secrets sent.
func TestAuditCluster(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared.log") // before the cluster: removed after it stops
	c, root := startKV(t, 3)
	a := &auditCluster{c: c, root: root, shared: shared, pubPEM: map[string]string{}, pub: map[string]ed25519.PublicKey{},
		forbidden: map[string]string{"root token": root}, start: time.Now()}
	leader := c.WaitLeader(30 * time.Second)
	admin := c.Client(leader, root)
	ctx := context.Background()
	for dev, file := range map[string]string{"file": auditFileName, "shared": shared} {
		err := admin.Sys().EnableAuditWithOptionsWithContext(ctx, dev, &vault.EnableAuditOptions{
			Type: "file", Options: map[string]string{"file_path": file, "fsync": "batch"}})
		if err != nil {
			t.Fatalf("enable %s: %v", dev, err)
		}
		a.pubPEM[dev], a.pub[dev] = devicePublicKey(t, admin, dev)
	}
	steps := []struct {
		name string
		run  func(t *testing.T)
		// needed: later steps cannot run after this one failed.
		needed bool
	}{
		{"entries", a.entries, false},
		{"rotation", a.rotation, true},
		{"sentinels", a.sentinels, false},
		{"failover", a.failover, true},
		{"verify", a.verifyAll, true},
		{"tamper", a.tamper, false},
		{"no secret in any file", a.grepAudit, false},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) && s.needed {
			t.Fatalf("step %s failed; later steps depend on it", s.name)
		}
	}
}

// devicePublicKey reads a device's checkpoint key from the API.
func devicePublicKey(t *testing.T, cl *vault.Client, dev string) (string, ed25519.PublicKey) {
	t.Helper()
	s := mustRead(t, cl, "sys/audit/"+dev+"/public-key")
	text, _ := s.Data["public_key"].(string)
	b, _ := pem.Decode([]byte(text))
	if b == nil || b.Type != "PUBLIC KEY" {
		t.Fatalf("%s public key is not a PEM PUBLIC KEY: %v", dev, s.Data)
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	pub, ok := k.(ed25519.PublicKey)
	if err != nil || !ok {
		t.Fatalf("%s public key: %T, %v", dev, k, err)
	}
	if s.Data["key_id"] != audit.KeyID(pub) || s.Data["algorithm"] != "ed25519" {
		t.Fatalf("%s public key: key_id %v algorithm %v, want %s ed25519", dev, s.Data["key_id"], s.Data["algorithm"], audit.KeyID(pub))
	}
	return text, pub
}

// nodeDir is the directory node n runs in.
func nodeDir(n *Node) string { return filepath.Dir(n.config) }

// nodeAuditFiles returns node n's per-node audit files, oldest first
// (audit.log.2, audit.log.1, audit.log).
func nodeAuditFiles(t *testing.T, n *Node) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(nodeDir(n), auditFileName+"*"))
	if err != nil {
		t.Fatal(err)
	}
	rank := func(f string) string { // "" for the live file sorts last
		suffix := strings.TrimPrefix(filepath.Base(f), auditFileName)
		return fmt.Sprintf("%08s", strings.TrimPrefix(suffix, "."))
	}
	sort.Slice(files, func(i, j int) bool { return rank(files[i]) > rank(files[j]) })
	return files
}

// readAudit decodes every line of the files, in order.
func readAudit(t *testing.T, files ...string) []auditRecord {
	t.Helper()
	var out []auditRecord
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<24)
		for n := 1; sc.Scan(); n++ {
			var r auditRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s:%d is not JSON: %v", f, n, err)
			}
			out = append(out, r)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
	}
	return out
}

// entriesOf returns the request and response entries of request id.
func entriesOf(recs []auditRecord, id string) (reqs, resps []auditRecord) {
	for _, r := range recs {
		if r.Request == nil || r.Request.ID != id {
			continue
		}
		switch r.Type {
		case "request":
			reqs = append(reqs, r)
		case "response":
			resps = append(resps, r)
		}
	}
	return reqs, resps
}

// entriesAt returns the request and response entries of a path.
func entriesAt(recs []auditRecord, path string) (reqs, resps []auditRecord) {
	for _, r := range recs {
		if r.Request == nil || r.Request.Path != path {
			continue
		}
		switch r.Type {
		case "request":
			reqs = append(reqs, r)
		case "response":
			resps = append(resps, r)
		}
	}
	return reqs, resps
}

// hasher computes, through sys/audit-hash, the HMAC a device writes for
// an input at a key generation; it caches answers.
type hasher struct {
	t     *testing.T
	cl    *vault.Client
	dev   string
	cache map[string]string
}

func (a *auditCluster) hasher(t *testing.T, node int, dev string) *hasher {
	return &hasher{t: t, cl: a.c.Client(node, a.root), dev: dev, cache: map[string]string{}}
}

func (h *hasher) hash(input string, gen uint64) string {
	h.t.Helper()
	key := fmt.Sprintf("%d/%s", gen, input)
	if v, ok := h.cache[key]; ok {
		return v
	}
	s := mustWrite(h.t, h.cl, "sys/audit-hash/"+h.dev, map[string]any{"input": input, "generation": gen})
	sum, _ := s.Data["hash"].(string)
	if !strings.HasPrefix(sum, "hmac-sha256:") || fmt.Sprint(s.Data["generation"]) != fmt.Sprint(gen) {
		h.t.Fatalf("audit-hash at generation %d: %v", gen, s.Data)
	}
	h.cache[key] = sum
	return sum
}

// auditedCall is one KV v2 request whose entries a step looks for.
type auditedCall struct {
	via    string // how it was sent, for messages
	id     string // the request id its answer carried
	op     string // the operation the log records
	path   string
	value  string // the KV value written or read back
	remote string // the client's address
}

// restKV writes (op "create") or reads a KV v2 secret {"v": value}
// through cl and returns the answer's request id.
func restKV(ctx context.Context, cl *vault.Client, op, path, value string) (string, error) {
	var s *vault.Secret
	var err error
	if op == "read" {
		s, err = cl.Logical().ReadWithContext(ctx, path)
	} else {
		s, err = cl.Logical().WriteWithContext(ctx, path, map[string]any{"data": map[string]any{"v": value}})
	}
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", op, path, err)
	}
	if s == nil || s.RequestID == "" {
		return "", fmt.Errorf("%s %s: no request_id in the answer", op, path)
	}
	if op == "read" {
		data, _ := s.Data["data"].(map[string]any)
		if data["v"] != value {
			return "", fmt.Errorf("read %s: got %v", path, s.Data)
		}
	}
	return s.RequestID, nil
}

// grpcFrom dials node n's gRPC API from source address src.
func grpcFrom(t *testing.T, n *Node, src string) *grpc.ClientConn {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	conn, err := grpc.NewClient("passthrough:///"+n.APIAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// grpcKV is restKV over gRPC (Logical.Handle; a write is "update", which
// the server records as create for a new key).
func grpcKV(ctx context.Context, conn *grpc.ClientConn, token, op, path, value string) (string, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "x-vault-token", token)
	req := &pb.LogicalRequest{Path: path, Operation: "read"}
	if op != "read" {
		req.Operation = "update"
		req.Data = fmt.Appendf(nil, `{"data":{"v":%q}}`, value)
	}
	body, err := pb.NewLogicalClient(conn).Handle(ctx, req)
	if err != nil {
		return "", fmt.Errorf("gRPC %s %s: %w", op, path, err)
	}
	var env struct {
		RequestID string `json:"request_id"`
		Data      struct {
			Data map[string]string `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body.GetData(), &env); err != nil || env.RequestID == "" {
		return "", fmt.Errorf("gRPC %s %s: answer without request_id (%v)", op, path, err)
	}
	if op == "read" && env.Data.Data["v"] != value {
		return "", fmt.Errorf("gRPC read %s: got %v", path, env.Data.Data)
	}
	return env.RequestID, nil
}

// entries: KV v2 writes and reads over REST and gRPC, on the active node
// and through a standby, each from its own client address; each has
// exactly one request and one response entry in the active node's file,
// with Vault's fields, every secret HMAC'd as the device's audit-hash
// says; standbys write nothing.
func (a *auditCluster) entries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader := a.c.WaitLeader(30 * time.Second)
	standby := a.c.Others(leader)[0]
	var calls []auditedCall
	for _, tr := range []struct {
		via  string
		node int
		src  string
	}{
		{"rest/active", leader, "127.0.0.71"}, {"rest/standby", standby, "127.0.0.72"},
		{"grpc/active", leader, "127.0.0.73"}, {"grpc/standby", standby, "127.0.0.74"},
	} {
		path := "secret/data/audit/" + strings.ReplaceAll(tr.via, "/", "-")
		value := "value-" + randHex(t, 6)
		var send func(op string) (string, error)
		if strings.HasPrefix(tr.via, "rest") {
			cl := a.c.clientFrom(tr.node, a.root, tr.src)
			send = func(op string) (string, error) { return restKV(ctx, cl, op, path, value) }
		} else {
			conn := grpcFrom(t, a.c.Nodes[tr.node], tr.src)
			send = func(op string) (string, error) { return grpcKV(ctx, conn, a.root, op, path, value) }
		}
		for _, op := range []string{"create", "read"} {
			id, err := send(op)
			if err != nil {
				t.Fatalf("%s: %v", tr.via, err)
			}
			calls = append(calls, auditedCall{via: tr.via + " " + op, id: id, op: op, path: path, value: value, remote: tr.src})
		}
	}
	recs := readAudit(t, nodeAuditFiles(t, a.c.Nodes[leader])...)
	accessor := a.rootAccessor(t, leader)
	h := a.hasher(t, leader, "file")
	for _, call := range calls {
		a.checkCall(t, recs, call, h, accessor)
	}
	shared := readAudit(t, a.shared)
	for _, call := range calls {
		if reqs, resps := entriesOf(shared, call.id); len(reqs) != 1 || len(resps) != 1 {
			t.Errorf("shared device: %s has %d request and %d response entries", call.via, len(reqs), len(resps))
		}
	}
	for _, i := range a.c.Others(leader) {
		if files := nodeAuditFiles(t, a.c.Nodes[i]); len(files) != 0 {
			t.Errorf("standby node%d wrote audit files %v", i, files)
		}
	}
}

// rootAccessor is the root token's accessor.
func (a *auditCluster) rootAccessor(t *testing.T, node int) string {
	t.Helper()
	s, err := a.c.Client(node, a.root).Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := s.Data["accessor"].(string)
	if acc == "" {
		t.Fatalf("lookup-self: no accessor in %v", s.Data)
	}
	return acc
}

// checkCall checks the one request and one response entry of call.
func (a *auditCluster) checkCall(t *testing.T, recs []auditRecord, call auditedCall, h *hasher, accessor string) {
	t.Helper()
	reqs, resps := entriesOf(recs, call.id)
	if len(reqs) != 1 || len(resps) != 1 {
		t.Errorf("%s (request %s): %d request and %d response entries, want 1 and 1", call.via, call.id, len(reqs), len(resps))
		return
	}
	for _, r := range []auditRecord{reqs[0], resps[0]} {
		if err := a.checkCommon(r, call, h, accessor); err != nil {
			t.Errorf("%s %s entry: %v", call.via, r.Type, err)
		}
	}
	var got any
	if call.op == "read" {
		got = nested(resps[0].Response.Data, "data", "v")
	} else {
		got = nested(reqs[0].Request.Data, "data", "v")
	}
	if want := h.hash(call.value, pickGen(call.op, reqs[0], resps[0])); got != want {
		t.Errorf("%s: logged value %v, want audit-hash %s", call.via, got, want)
	}
	if code := resps[0].Response.StatusCode; code != 200 {
		t.Errorf("%s: response status_code %d, want 200", call.via, code)
	}
}

// pickGen is the generation of the entry that carries the value.
func pickGen(op string, req, resp auditRecord) uint64 {
	if op == "read" {
		return resp.HMACKeyGen
	}
	return req.HMACKeyGen
}

// checkCommon checks the fields every entry of call has.
func (a *auditCluster) checkCommon(r auditRecord, call auditedCall, h *hasher, accessor string) error {
	when, err := time.Parse(time.RFC3339Nano, r.Time)
	switch {
	case err != nil:
		return fmt.Errorf("time %q: %v", r.Time, err)
	case when.Before(a.start.Add(-time.Minute)) || when.After(time.Now().Add(time.Minute)):
		return fmt.Errorf("time %s is outside the test's run", when)
	case r.Auth == nil || r.Request == nil || r.Cedar == nil || (r.Type == "response" && r.Response == nil):
		return fmt.Errorf("missing auth, request, cedar or response: %+v", r)
	case r.Auth.ClientToken != h.hash(a.root, r.HMACKeyGen):
		return fmt.Errorf("auth.client_token %q is not the HMAC of the caller's token", r.Auth.ClientToken)
	case r.Auth.Accessor != h.hash(accessor, r.HMACKeyGen):
		return fmt.Errorf("auth.accessor %q is not the HMAC of the token's accessor", r.Auth.Accessor)
	case !slices.Equal(r.Auth.Policies, []string{"root"}):
		return fmt.Errorf("auth.policies %v", r.Auth.Policies)
	case r.Request.Operation != call.op || r.Request.Path != call.path || r.Request.MountType != "kv":
		return fmt.Errorf("request operation %q path %q mount_type %q, want %q %q kv", r.Request.Operation, r.Request.Path, r.Request.MountType, call.op, call.path)
	case r.Request.RemoteAddress != call.remote:
		return fmt.Errorf("request.remote_address %q, want the client's %s", r.Request.RemoteAddress, call.remote)
	case r.Cedar.Decision != "allow":
		return fmt.Errorf("cedar.decision %q", r.Cedar.Decision)
	}
	return nil
}

// nested returns m[k0][k1]...
func nested(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// randHex returns n random bytes in hex.
func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// rotation: rename the active node's file, SIGHUP its vaultd; requests
// then go to a new audit.log, and audit.log.1 followed by audit.log
// verify as one log.
func (a *auditCluster) rotation(t *testing.T) {
	leader := a.c.WaitLeader(30 * time.Second)
	n := a.c.Nodes[leader]
	live := filepath.Join(nodeDir(n), auditFileName)
	if err := os.Rename(live, live+".1"); err != nil {
		t.Fatal(err)
	}
	if err := n.signal(syscall.SIGHUP, stateRunning, stateRunning); err != nil {
		t.Fatal(err)
	}
	// The reopen runs asynchronously: poll until a request lands in the
	// new file.
	cl := a.c.Client(leader, a.root)
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		path := fmt.Sprintf("secret/data/audit/rotated-%d", i)
		id, err := restKV(ctx, cl, "create", path, "r")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(live); err == nil {
			if reqs, resps := entriesOf(readAudit(t, live), id); len(reqs) == 1 && len(resps) == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request reached the reopened %s within 15 s of SIGHUP", live)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// audit.log.1 ends with the rotation checkpoint: it verifies alone.
	a.verifyFiles(t, "file", false, live+".1")
	a.verifyFiles(t, "file", true, live+".1", live)
}

// verifyFiles runs vaultctl audit verify with the device's public key
// on files (oldest first) and fails the test unless it passes; it
// returns audit.VerifySources's report.
func (a *auditCluster) verifyFiles(t *testing.T, dev string, openTail bool, files ...string) audit.Report {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), dev+".pub")
	if err := os.WriteFile(keyFile, []byte(a.pubPEM[dev]), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"audit", "verify", "-public-key", "@" + keyFile}
	if openTail {
		args = append(args, "-allow-open-tail")
	}
	out, errOut, code := vaultctl(t, a.c, 0, "", append(args, files...)...)
	if code != 0 || !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("vaultctl audit verify %v: exit %d\n%s%s", files, code, out, errOut)
	}
	rep, err := audit.VerifySources(a.pub[dev], audit.VerifyOptions{AllowOpenTail: openTail}, sources(t, files)...)
	if err != nil || !rep.OK {
		t.Fatalf("audit.VerifySources %v: %+v, %v", files, rep.Problem, err)
	}
	return rep
}

// sources opens files as verify sources, closed at the test's end.
func sources(t *testing.T, files []string) []audit.Source {
	t.Helper()
	var out []audit.Source
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fh.Close() })
		out = append(out, audit.Source{Name: f, R: fh})
	}
	return out
}
