package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// auditLine is what these tests read of an audit log line.
type auditLine struct {
	Type       string `json:"type"`
	HMACKeyGen uint64 `json:"hmac_key_gen"`
	Request    *struct {
		ID   string         `json:"id"`
		Path string         `json:"path"`
		Data map[string]any `json:"data"`
	} `json:"request"`
}

// readAuditLines decodes every line of an audit file.
func readAuditLines(t *testing.T, path string) []auditLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s line %d is not JSON: %v", path, len(out)+1, err)
		}
		out = append(out, l)
	}
	return out
}

// loggedValue returns the HMAC'd data.v of request id's request entry and
// the entry's key generation.
func loggedValue(t *testing.T, path, id string) (string, uint64) {
	t.Helper()
	for _, l := range readAuditLines(t, path) {
		if l.Type == "request" && l.Request != nil && l.Request.ID == id {
			data, _ := l.Request.Data["data"].(map[string]any)
			v, _ := data["v"].(string)
			if !strings.HasPrefix(v, "hmac-sha256:") {
				t.Fatalf("request %s: data.v is %q, not an HMAC", id, v)
			}
			return v, l.HMACKeyGen
		}
	}
	t.Fatalf("no request entry for request %s in %s", id, path)
	return "", 0
}

// rawHash calls sys/audit-hash with an explicit generation through the
// generic Logical client (the typed AuditHash takes none).
func rawHash(ctx context.Context, t *testing.T, cl *vault.Client, dev, input string, gen uint64) string {
	t.Helper()
	s, err := cl.Logical().WriteWithContext(ctx, "sys/audit-hash/"+dev, map[string]any{"input": input, "generation": gen})
	if err != nil || s == nil {
		t.Fatalf("audit-hash %s at generation %d: %v", dev, gen, err)
	}
	if g := fmt.Sprint(s.Data["generation"]); g != strconv.FormatUint(gen, 10) {
		t.Fatalf("audit-hash answered generation %s, asked %d", g, gen)
	}
	sum, _ := s.Data["hash"].(string)
	return sum
}

// TestAuditDevicesWithOpenBaoClient drives sys/audit with the OpenBao
// client's typed calls: enable, list, hash, disable. The hash of a value
// written equals the HMAC the log holds for it at that line's generation
// (typed call, current generation, on a device that has not ratcheted;
// raw call with "generation" on one that ratchets every 2 entries, where
// the current generation's hash differs). The disabled device's file
// ends cleanly and vaultctl audit verify passes with the public key read
// before.
func TestAuditDevicesWithOpenBaoClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := newServer(t)
	root := s.initUnseal(3, 2).RootToken
	cl := s.client(root)
	if err := cl.Sys().MountWithContext(ctx, "secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{"file": filepath.Join(dir, "audit.log"), "ratchet": filepath.Join(dir, "ratchet.log")}
	for dev, opts := range map[string]map[string]string{
		"file":    {"file_path": files["file"]},
		"ratchet": {"file_path": files["ratchet"], "ratchet_every": "2"},
	} {
		if err := cl.Sys().EnableAuditWithOptionsWithContext(ctx, dev, &vault.EnableAuditOptions{Type: "file", Description: dev + " device", Options: opts}); err != nil {
			t.Fatalf("enable %s: %v", dev, err)
		}
	}
	list, err := cl.Sys().ListAuditWithContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for dev, file := range files {
		d := list[dev+"/"]
		if d == nil || d.Type != "file" || d.Path != dev+"/" || d.Description != dev+" device" || d.Options["file_path"] != file {
			t.Fatalf("ListAudit[%s/] = %+v (all: %v)", dev, d, list)
		}
	}
	if list["ratchet/"].Options["ratchet_every"] != "2" || len(list) != 2 {
		t.Fatalf("ListAudit = %v", list)
	}
	value := fmt.Sprintf("hash-me-%d", time.Now().UnixNano())
	w, err := cl.Logical().WriteWithContext(ctx, "secret/data/hashed", map[string]any{"data": map[string]any{"v": value}})
	if err != nil || w.RequestID == "" {
		t.Fatalf("write: %v, %v", w, err)
	}
	logged, gen := loggedValue(t, files["file"], w.RequestID)
	typed, err := cl.Sys().AuditHashWithContext(ctx, "file", value)
	if err != nil || typed != logged {
		t.Fatalf("AuditHash(file) = %q, %v; the log holds %q", typed, err, logged)
	}
	if raw := rawHash(ctx, t, cl, "file", value, gen); raw != logged {
		t.Fatalf("audit-hash at the line's generation %d = %q; the log holds %q", gen, raw, logged)
	}
	// The ratcheting device moved on: its current generation's hash is not
	// the logged one, the line's generation's is.
	rLogged, rGen := loggedValue(t, files["ratchet"], w.RequestID)
	for range 3 {
		if _, err := cl.Logical().ReadWithContext(ctx, "secret/data/hashed"); err != nil {
			t.Fatal(err)
		}
	}
	if cur, err := cl.Sys().AuditHashWithContext(ctx, "ratchet", value); err != nil || cur == rLogged {
		t.Fatalf("AuditHash(ratchet) at the current generation = %q, %v: want another hash than generation %d's", cur, err, rGen)
	}
	if raw := rawHash(ctx, t, cl, "ratchet", value, rGen); raw != rLogged {
		t.Fatalf("audit-hash(ratchet) at generation %d = %q; the log holds %q", rGen, raw, rLogged)
	}
	pub, err := cl.Logical().ReadWithContext(ctx, "sys/audit/file/public-key")
	if err != nil || pub == nil || pub.Data["algorithm"] != "ed25519" {
		t.Fatalf("public key: %v, %v", pub, err)
	}
	keyFile := filepath.Join(dir, "file.pub")
	if err := os.WriteFile(keyFile, []byte(pub.Data["public_key"].(string)), 0o600); err != nil {
		t.Fatal(err)
	}
	for dev := range files {
		if err := cl.Sys().DisableAuditWithContext(ctx, dev); err != nil {
			t.Fatalf("disable %s: %v", dev, err)
		}
	}
	if list, err := cl.Sys().ListAuditWithContext(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListAudit after disabling: %v, %v", list, err)
	}
	out, errOut, code := s.vaultctl("", "", "audit", "verify", "-public-key", "@"+keyFile, files["file"])
	if code != 0 || !strings.HasPrefix(out, "OK: ") || !strings.Contains(out, pub.Data["key_id"].(string)) {
		t.Fatalf("vaultctl audit verify of the disabled device's file: exit %d\n%s%s", code, out, errOut)
	}
}

// stalledPeer is a TCP peer that accepts connections and never reads
// them (a small receive buffer makes the sender's buffers fill), until
// drain makes it read and discard everything.
type stalledPeer struct {
	ln      net.Listener
	mu      sync.Mutex
	conns   []net.Conn
	reading bool
	wg      sync.WaitGroup
}

func newStalledPeer(t *testing.T) *stalledPeer {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stalledPeer{ln: ln}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *stalledPeer) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		if p.reading {
			p.wg.Go(func() { io.Copy(io.Discard, c) })
		}
		p.mu.Unlock()
	}
}

// drain makes the peer read (and discard) every connection.
func (p *stalledPeer) drain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reading = true
	for _, c := range p.conns {
		p.wg.Go(func() { io.Copy(io.Discard, c) })
	}
}

func (p *stalledPeer) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// auditFailures scrapes secretum_vault_audit_log_failures_total of one
// device (-1 when the series is absent).
func auditFailures(t *testing.T, s *server, token, device string) float64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url()+"/v1/sys/metrics?format=prometheus", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics scrape: status %d", resp.StatusCode)
	}
	series := fmt.Sprintf("secretum_vault_audit_log_failures_total{device=%q}", device)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s value %q: %v", series, v, err)
			}
			return f
		}
	}
	return -1
}

// bigSecret is KV data with n keys: its audit line (every value an HMAC)
// is about 90 n bytes.
func bigSecret(n int) map[string]any {
	data := make(map[string]any, n)
	for i := range n {
		data[fmt.Sprintf("k%05d", i)] = "v"
	}
	return map[string]any{"data": data}
}

// timedRequest is a raw request with a JSON body (none if nil): its
// status, the request id of its answer, and how long it took.
func timedRequest(t *testing.T, s *server, method, token, path string, body any) (int, string, time.Duration) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url()+"/v1/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	hc := &http.Client{Timeout: 30 * time.Second}
	start := time.Now()
	resp, err := hc.Do(req)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("PUT %s: %v (after %v)", path, err, took)
	}
	defer resp.Body.Close()
	var env struct {
		RequestID string `json:"request_id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	return resp.StatusCode, env.RequestID, took
}

// requestBound is how long a request may take when a device's wait and
// write_timeout are 300 ms.
const requestBound = 5 * time.Second

// oversizeKeys is a number of KV keys whose request entry (about 90
// bytes a key) is larger than a TCP connection can hold unread: the
// kernel's largest send buffer (tcp_wmem) plus 1 MiB for the peer's side
// and what is in flight. Writing it to a peer that never reads cannot
// complete, on a fresh connection too.
func oversizeKeys(t *testing.T) int {
	t.Helper()
	maxSend := 4 << 20
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 3 {
			if n, err := strconv.Atoi(f[2]); err == nil {
				maxSend = n
			}
		}
	}
	return (maxSend + 1<<20) / 80
}

// TestAuditSocketDeviceStalledPeer: a socket device whose TCP peer
// accepts and never reads (wait and write_timeout 300 ms), and writes
// whose request entries are larger than a connection can hold unread.
// Next to a healthy file device, each write completes within 5 s and
// succeeds, and the socket's failures are counted in
// secretum_vault_audit_log_failures_total{device="sock/"}. Alone, it
// makes each write fail with 500 within 5 s, refused at its request
// entry (vaultd says so for its request id) and not applied: once the
// peer reads again and a healthy file device replaces the socket, the
// secret is absent.
func TestAuditSocketDeviceStalledPeer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := newServer(t)
	root := s.initUnseal(3, 2).RootToken
	cl := s.client(root)
	if err := cl.Sys().MountWithContext(ctx, "secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	peer := newStalledPeer(t)
	dir := t.TempDir()
	enable := func(dev, typ string, opts map[string]string) {
		t.Helper()
		if err := cl.Sys().EnableAuditWithOptionsWithContext(ctx, dev, &vault.EnableAuditOptions{Type: typ, Options: opts}); err != nil {
			t.Fatalf("enable %s: %v", dev, err)
		}
	}
	enable("file", "file", map[string]string{"file_path": filepath.Join(dir, "audit.log")})
	enable("sock", "socket", map[string]string{"address": peer.ln.Addr().String(), "socket_type": "tcp", "write_timeout": "300ms", "wait": "300ms"})
	huge := bigSecret(oversizeKeys(t))

	// Next to the healthy file device: every write succeeds in time; the
	// socket fails each one's request entry.
	const withFile = 3
	for i := range withFile {
		code, _, took := timedRequest(t, s, http.MethodPut, root, fmt.Sprintf("secret/data/with-file-%d", i), huge)
		if code != http.StatusOK || took > requestBound {
			t.Fatalf("write %d next to a healthy file device: status %d after %v, want 200 within %v", i, code, took, requestBound)
		}
	}
	if n := auditFailures(t, s, root, "sock/"); n < withFile {
		t.Fatalf("secretum_vault_audit_log_failures_total{device=\"sock/\"} = %v after %d writes it could not record", n, withFile)
	}
	if err := cl.Sys().DisableAuditWithContext(ctx, "file"); err != nil {
		t.Fatal(err)
	}

	// The socket alone: each write fails with 500 within the bound,
	// refused at its request entry.
	var refused []string
	ids := map[string]string{}
	for i := range 2 {
		path := fmt.Sprintf("secret/data/socket-only-%d", i)
		code, id, took := timedRequest(t, s, http.MethodPut, root, path, huge)
		if code != http.StatusInternalServerError || id == "" || took > requestBound {
			t.Fatalf("write %d with the stalled socket as the only device: status %d (request id %q) after %v, want 500 within %v", i, code, id, took, requestBound)
		}
		refused, ids[path] = append(refused, path), id
	}
	// vaultd's log reaches the harness through a pipe: wait for the lines
	// of both refusals before judging them.
	var stages map[string]string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		stages = refusalStages(t, s.logs())
		if stages[ids[refused[0]]] != "" && stages[ids[refused[1]]] != "" || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range refused {
		if stages[ids[p]] != "request" {
			t.Errorf("%s (request %s): vaultd logged stage %q, want the request entry refused", p, ids[p], stages[ids[p]])
		}
	}

	// The peer reads again; a healthy file device replaces the socket;
	// the refused writes were not applied, the others were.
	peer.drain()
	enable("after", "file", map[string]string{"file_path": filepath.Join(dir, "after.log")})
	if err := cl.Sys().DisableAuditWithContext(ctx, "sock"); err != nil {
		t.Fatal(err)
	}
	// (The client answers a 404 with no secret and no error.)
	for _, p := range refused {
		if sec, err := cl.Logical().ReadWithContext(ctx, p); sec != nil || err != nil {
			t.Errorf("read %s, refused with a 500: %v, %v; want nothing (not applied)", p, sec, err)
		}
	}
	for i := range withFile {
		sec, err := cl.Logical().ReadWithContext(ctx, fmt.Sprintf("secret/data/with-file-%d", i))
		var got map[string]any
		if sec != nil {
			got, _ = sec.Data["data"].(map[string]any)
		}
		if err != nil || len(got) != len(huge["data"].(map[string]any)) {
			t.Errorf("read with-file-%d, written with a 200: %v", i, err)
		}
	}
}

// refusalStages reads vaultd's JSON log: for each request id whose audit
// failed, "request" (refused before it was routed) or "response" (served,
// its answer withheld).
func refusalStages(t *testing.T, log string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(log, "\n") {
		var l struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.RequestID == "" {
			continue
		}
		switch l.Msg {
		case "core: audit request failed; refusing the request":
			out[l.RequestID] = "request"
		case "core: audit response failed; withholding the response":
			out[l.RequestID] = "response"
		}
	}
	return out
}
