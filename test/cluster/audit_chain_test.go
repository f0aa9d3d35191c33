package cluster

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
)

// sentinel makes a unique value no audit file may hold and remembers it
// under name.
func (a *auditCluster) sentinel(t *testing.T, name string) string {
	v := "SENTINEL" + randHex(t, 10)
	a.forbidden[name] = v
	return v
}

// sentinels: secrets with unique values — a KV value, a userpass password
// at user creation and at login, a token created with an explicit id,
// requests failing validation (a sentinel in a valid field, and one as
// the invalid value itself), a request denied by policy — are audited
// (their entries are found). grepAudit, the last step, checks that no
// audit file holds them, nor the tokens the requests made.
func (a *auditCluster) sentinels(t *testing.T) {
	leader := a.c.WaitLeader(30 * time.Second)
	standby := a.c.Others(leader)[0]
	admin := a.c.Client(standby, a.root) // every call is forwarded
	kv := a.sentinel(t, "kv value")
	mustWrite(t, admin, "secret/data/audit/sentinel", map[string]any{"data": map[string]any{"password": kv}})
	if got := nested(mustRead(t, admin, "secret/data/audit/sentinel").Data, "data", "password"); got != kv {
		t.Fatalf("read back the sentinel secret: %v", got)
	}
	pw := a.sentinel(t, "userpass password")
	mustWrite(t, admin, "sys/auth/userpass", map[string]any{"type": "userpass"})
	mustWrite(t, admin, "auth/userpass/users/alice", map[string]any{"password": pw})
	login := mustWrite(t, a.c.Client(standby, ""), "auth/userpass/login/alice", map[string]any{"password": pw})
	if login.Auth == nil || login.Auth.ClientToken == "" {
		t.Fatalf("login: %+v", login)
	}
	a.forbidden["login token"], a.forbidden["login accessor"] = login.Auth.ClientToken, login.Auth.Accessor
	id := a.sentinel(t, "explicit token id")
	tok := mustWrite(t, admin, "auth/token/create", map[string]any{"id": id, "policies": []string{"default"}})
	if tok.Auth == nil || tok.Auth.ClientToken != id {
		t.Fatalf("token create with an explicit id: %+v", tok.Auth)
	}
	a.forbidden["explicit token accessor"] = tok.Auth.Accessor
	refused := []struct {
		path string
		data map[string]any
		code int
	}{
		{"auth/userpass/users/bob", map[string]any{"password": a.sentinel(t, "password of a refused user"), "token_ttl": "not-a-duration"}, http.StatusBadRequest},
		{"auth/userpass/users/carol", map[string]any{"password": "p", "token_ttl": a.sentinel(t, "invalid field value")}, http.StatusBadRequest},
	}
	for _, r := range refused {
		if _, err := admin.Logical().Write(r.path, r.data); statusOf(err) != r.code {
			t.Fatalf("write %s: %v, want %d", r.path, err, r.code)
		}
	}
	denied := a.sentinel(t, "value of a denied write")
	_, err := a.c.Client(standby, id).Logical().Write("secret/data/audit/denied", map[string]any{"data": map[string]any{"v": denied}})
	if statusOf(err) != http.StatusForbidden {
		t.Fatalf("write with a default-policy token: %v, want 403", err)
	}
	recs := readAudit(t, nodeAuditFiles(t, a.c.Nodes[leader])...)
	h := a.hasher(t, leader, "file")
	a.checkAudited(t, recs, h, "auth/userpass/login/alice", http.StatusOK, "password", pw)
	a.checkAudited(t, recs, h, "auth/userpass/users/bob", http.StatusBadRequest, "", "")
	a.checkAudited(t, recs, h, "auth/userpass/users/carol", http.StatusBadRequest, "", "")
	_, resps := entriesAt(recs, "secret/data/audit/denied")
	if len(resps) != 1 || resps[0].Response.StatusCode != http.StatusForbidden || resps[0].Cedar == nil || resps[0].Cedar.Decision != "deny" || resps[0].Error == "" {
		t.Errorf("the denied write's response entries: %+v", resps)
	}
}

// checkAudited checks that path has one request and one response entry
// with status code and, if field is set, the HMAC of value in the
// request data's field.
func (a *auditCluster) checkAudited(t *testing.T, recs []auditRecord, h *hasher, path string, code int, field, value string) {
	t.Helper()
	reqs, resps := entriesAt(recs, path)
	if len(reqs) != 1 || len(resps) != 1 {
		t.Errorf("%s: %d request and %d response entries, want 1 and 1", path, len(reqs), len(resps))
		return
	}
	if got := resps[0].Response; got == nil || got.StatusCode != code || (code >= 400) != (resps[0].Error != "") {
		t.Errorf("%s: response %+v error %q, want status %d", path, got, resps[0].Error, code)
	}
	if field != "" && nested(reqs[0].Request.Data, field) != h.hash(value, reqs[0].HMACKeyGen) {
		t.Errorf("%s: request.data.%s is not the HMAC of the value sent", path, field)
	}
}

// grepAudit fails the test if any audit file of any node holds a
// forbidden value: the sentinels, the root token, the tokens made.
func (a *auditCluster) grepAudit(t *testing.T) {
	files := []string{a.shared}
	for _, n := range a.c.Nodes {
		files = append(files, nodeAuditFiles(t, n)...)
	}
	total := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		total += len(b)
		for name, v := range a.forbidden {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds the %s in the clear, in %v", f, name, fieldsHolding(b, v))
			}
		}
	}
	if total == 0 {
		t.Fatal("no audit file has any content")
	}
}

// fieldsHolding names the fields of the log's lines whose string value
// contains v, with v masked: where a secret leaked, not the secret.
func fieldsHolding(log []byte, v string) []string {
	var out []string
	var walk func(path string, x any)
	walk = func(path string, x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case string:
			if strings.Contains(x, v) {
				out = append(out, fmt.Sprintf("%s = %q", path, strings.ReplaceAll(x, v, "<SENTINEL>")))
			}
		}
	}
	for _, line := range bytes.Split(log, []byte("\n")) {
		if !bytes.Contains(line, []byte(v)) {
			continue
		}
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			out = append(out, "an undecodable line")
			continue
		}
		walk(fmt.Sprint(m["type"]), m)
	}
	return out
}

// failover: twice, stop the active node (SIGTERM: its devices close
// cleanly) and restart it; the new active node audits requests it
// serves, those forwarded by the other standby and by the restarted
// node, in its own file and in the shared one.
func (a *auditCluster) failover(t *testing.T) {
	for round := range 2 {
		old := a.c.WaitLeader(30 * time.Second)
		if err := a.c.Stop(old); err != nil {
			t.Fatal(err)
		}
		next := a.c.WaitLeader(30 * time.Second)
		a.auditedOn(t, fmt.Sprintf("round %d: on the new active node", round), next, next)
		a.auditedOn(t, fmt.Sprintf("round %d: through the other standby", round), a.c.Others(old, next)[0], next)
		if err := a.c.Restart(old); err != nil {
			t.Fatal(err)
		}
		a.auditedOn(t, fmt.Sprintf("round %d: through the restarted node", round), old, next)
	}
}

// auditedOn writes a secret through node via (retrying while the cluster
// settles) and checks its entries in the active node's file and in the
// shared file.
func (a *auditCluster) auditedOn(t *testing.T, what string, via, leader int) {
	t.Helper()
	cl := a.c.Client(via, a.root)
	cl.SetClientTimeout(5 * time.Second)
	path := "secret/data/audit/failover-" + randHex(t, 4)
	deadline := time.Now().Add(30 * time.Second)
	var id string
	var err error
	for {
		if id, err = restKV(context.Background(), cl, "create", path, "x"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no write succeeded within 30 s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for name, files := range map[string][]string{"own": nodeAuditFiles(t, a.c.Nodes[leader]), "shared": {a.shared}} {
		if reqs, resps := entriesOf(readAudit(t, files...), id); len(reqs) != 1 || len(resps) != 1 {
			t.Errorf("%s: the %s file of node%d has %d request and %d response entries, want 1 and 1", what, name, leader, len(reqs), len(resps))
		}
	}
}

// verifyAll stops every node (each device writes its closing checkpoint)
// and verifies every node's files, and the shared file, with the
// device's public key: seq never repeats across nodes, and at least two
// nodes were active.
func (a *auditCluster) verifyAll(t *testing.T) {
	for i := range a.c.Nodes {
		if err := a.c.Stop(i); err != nil {
			t.Fatal(err)
		}
	}
	owner := map[uint64]string{}
	active := 0
	for _, n := range a.c.Nodes {
		files := nodeAuditFiles(t, n)
		if len(files) == 0 {
			continue
		}
		active++
		rep := a.verifyFiles(t, "file", false, files...)
		t.Logf("%s: %d files, %d entries, %d checkpoints, %d segments, %d gaps, seq %d..%d", n.ID, len(files), rep.Entries, rep.Checkpoints, rep.Segments, rep.Gaps, rep.FirstSeq, rep.LastSeq)
		for _, r := range readAudit(t, files...) {
			if o, dup := owner[r.Seq]; dup {
				t.Errorf("seq %d is in the files of %s and of %s", r.Seq, o, n.ID)
			}
			owner[r.Seq] = n.ID
		}
	}
	if active < 2 {
		t.Errorf("only %d node(s) wrote audit files after two leadership changes", active)
	}
	// The shared file holds every activation's segment; a new active node
	// jumps past the seqs its predecessor reserved.
	rep := a.verifyFiles(t, "shared", false, a.shared)
	t.Logf("shared: %d entries, %d checkpoints, %d segments, %d gaps, seq %d..%d", rep.Entries, rep.Checkpoints, rep.Segments, rep.Gaps, rep.FirstSeq, rep.LastSeq)
	if rep.Segments < 3 || rep.Gaps < 2 {
		t.Errorf("shared log: %d segments and %d gaps after two leadership changes, want at least 3 and 2", rep.Segments, rep.Gaps)
	}
}

// tamper: a copy of the verified shared log, changed in one way each, is
// rejected by vaultctl audit verify (exit 1) and by audit.Verify, for the
// expected reason.
func (a *auditCluster) tamper(t *testing.T) {
	orig, err := os.ReadFile(a.shared)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(orig, []byte("\n")), []byte("\n"))
	k := middleEntries(t, lines)
	_, other, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherID := audit.KeyID(other.Public().(ed25519.PublicKey))
	cases := []struct {
		name   string
		mutate func() []byte
		want   audit.Reason
	}{
		{"one byte edited", func() []byte { return joinLines(replaced(lines, k, editByte(t, lines[k]))) }, audit.ReasonEdited},
		{"one line deleted", func() []byte { return joinLines(spliced(lines, k, k+1)) }, audit.ReasonDropped},
		{"two lines swapped", func() []byte { return joinLines(replaced(replaced(lines, k, lines[k+1]), k+1, lines[k])) }, audit.ReasonReordered},
		{"tail truncated after the last entry", func() []byte { return joinLines(lines[:lastEntry(lines)+1]) }, audit.ReasonTruncated},
		{"tail cut mid-line", func() []byte { return orig[:len(orig)-len(lines[len(lines)-1])/2] }, audit.ReasonTruncated},
		{"one line duplicated", func() []byte { return joinLines(spliced(lines, k, k, lines[k])) }, audit.ReasonDuplicated},
		{"checkpoint re-signed with another key", func() []byte {
			return joinLines(replaced(lines, len(lines)-1, resign(t, lines[len(lines)-1], other, otherID)))
		}, audit.ReasonUnsigned},
		{"checkpoint forged under the device's key id", func() []byte {
			return joinLines(replaced(lines, len(lines)-1, resign(t, lines[len(lines)-1], other, "")))
		}, audit.ReasonEdited},
	}
	keyFile := filepath.Join(t.TempDir(), "shared.pub")
	if err := os.WriteFile(keyFile, []byte(a.pubPEM["shared"]), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "audit.log")
			if err := os.WriteFile(file, tc.mutate(), 0o600); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := vaultctl(t, a.c, 0, "", "-format=json", "audit", "verify", "-public-key", "@"+keyFile, file)
			var rep struct {
				OK      bool `json:"ok"`
				Problem *struct {
					Reason string `json:"reason"`
				} `json:"problem"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.OK || rep.Problem == nil || rep.Problem.Reason != string(tc.want) {
				t.Errorf("vaultctl audit verify: exit %d, %+v (%v), want exit 1 and reason %s\n%s%s", code, rep, err, tc.want, out, errOut)
			}
			got, err := audit.Verify(a.pub["shared"], file)
			if err != nil || got.OK || got.Problem == nil || got.Problem.Reason != tc.want {
				t.Errorf("audit.Verify: %+v %+v, %v; want reason %s", got, got.Problem, err, tc.want)
			}
		})
	}
}

// lineType is a log line's type field.
func lineType(line []byte) string {
	var h struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(line, &h)
	return h.Type
}

// middleEntries returns an index k near the middle of the log where lines
// k-1, k, k+1 and k+2 are entries (no checkpoint, no segment boundary).
func middleEntries(t *testing.T, lines [][]byte) int {
	t.Helper()
	isEntry := func(i int) bool { return lineType(lines[i]) == "request" || lineType(lines[i]) == "response" }
	for d := 0; d < len(lines)/2; d++ {
		for _, k := range []int{len(lines)/2 + d, len(lines)/2 - d} {
			if k >= 1 && k+2 < len(lines) && isEntry(k-1) && isEntry(k) && isEntry(k+1) && isEntry(k+2) {
				return k
			}
		}
	}
	t.Fatalf("no four consecutive entries in a log of %d lines", len(lines))
	return 0
}

// lastEntry is the index of the log's last request or response line.
func lastEntry(lines [][]byte) int {
	for i := len(lines) - 1; i >= 0; i-- {
		if lineType(lines[i]) != "checkpoint" {
			return i
		}
	}
	return -1
}

// editByte changes one hex digit of an HMAC in line (JSON stays valid).
func editByte(t *testing.T, line []byte) []byte {
	t.Helper()
	i := bytes.Index(line, []byte("hmac-sha256:"))
	if i < 0 {
		t.Fatal("entry line without an HMAC")
	}
	out := bytes.Clone(line)
	p := i + len("hmac-sha256:") + 3
	out[p] = map[bool]byte{true: '1', false: '0'}[out[p] == '0']
	return out
}

// resign signs checkpoint line's content with key, naming keyID ("" keeps
// the line's key_id: a forgery under the device's name).
func resign(t *testing.T, line []byte, key ed25519.PrivateKey, keyID string) []byte {
	t.Helper()
	if lineType(line) != "checkpoint" {
		t.Fatal("the last line is not a checkpoint")
	}
	const sigField = `,"signature":"`
	i := bytes.LastIndex(line, []byte(sigField))
	if i < 0 {
		t.Fatal("checkpoint without a signature field")
	}
	msg := append(bytes.Clone(line[:i]), '}')
	if keyID != "" {
		var h struct {
			KeyID string `json:"key_id"`
		}
		if err := json.Unmarshal(line, &h); err != nil || h.KeyID == "" {
			t.Fatalf("checkpoint key_id: %v", err)
		}
		msg = bytes.Replace(msg, []byte(`"key_id":"`+h.KeyID+`"`), []byte(`"key_id":"`+keyID+`"`), 1)
	} else {
		msg = bytes.Replace(msg, []byte(`"count":`), []byte(`"count":1`), 1) // a different claim
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg))
	return append(append(msg[:len(msg)-1:len(msg)-1], sigField+sig...), '"', '}')
}

// replaced returns a copy of lines with line i replaced.
func replaced(lines [][]byte, i int, line []byte) [][]byte {
	out := append([][]byte(nil), lines...)
	out[i] = line
	return out
}

// spliced returns a copy of lines with lines[from:to] replaced by ins.
func spliced(lines [][]byte, from, to int, ins ...[]byte) [][]byte {
	out := append([][]byte(nil), lines[:from]...)
	out = append(out, ins...)
	return append(out, lines[to:]...)
}

// joinLines writes lines as a log file.
func joinLines(lines [][]byte) []byte {
	return append(bytes.Join(lines, []byte("\n")), '\n')
}
