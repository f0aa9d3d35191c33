package audit_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
)

// bundleBase is the time of entry 0; entry i is minute(i).
var bundleBase = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func minute(i int) time.Time { return bundleBase.Add(time.Duration(i) * time.Minute) }

// logAt logs entries from..from+n-1 at minute(i), requests and responses
// alternately.
func logAt(t testing.TB, d audit.Broker, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		e := sampleEntry(i)
		e.Time = minute(i)
		log := d.LogRequest
		if i%2 == 1 {
			log = d.LogResponse
		}
		if err := log(context.Background(), e); err != nil {
			t.Fatalf("log entry %d: %v", i, err)
		}
	}
}

// rotatedLog writes 30 entries (minute 0..29) with a checkpoint every 4,
// rotating after entry 13, and closes: the paths, oldest first.
func rotatedLog(t testing.TB, k keys, dir string) []string {
	t.Helper()
	newer := filepath.Join(dir, "audit.log")
	older := newer + ".1"
	o := k.opts()
	o.CheckpointEvery = 4
	d := openFile(t, newer, o)
	logAt(t, d, 0, 14)
	if err := os.Rename(newer, older); err != nil {
		t.Fatal(err)
	}
	if err := d.Reopen(); err != nil {
		t.Fatal(err)
	}
	logAt(t, d, 14, 16)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return []string{older, newer}
}

func pemKey(t testing.TB, pub ed25519.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// signer signs manifests as the server does, with the device key.
func signer(priv ed25519.PrivateKey) func(context.Context, [32]byte) ([]byte, error) {
	return func(_ context.Context, sum [32]byte) ([]byte, error) {
		return ed25519.Sign(priv, audit.ManifestMessage(sum)), nil
	}
}

var samplePolicies = map[string][]byte{
	"policies/cedar/admins.cedar": []byte("permit (principal in Group::\"admins\", action, resource);\n"),
	"policies/acl/default.hcl":    []byte("path \"auth/token/lookup-self\" {\n  capabilities = [\"read\"]\n}\n"),
}

// bundleInput opens the log files (closed at cleanup) for a bundle of
// [since, until], signed with k when signed.
func bundleInput(t testing.TB, k keys, paths []string, since, until time.Time, signed bool) audit.BundleInput {
	t.Helper()
	in := audit.BundleInput{Since: since, Until: until, Device: "file/", PublicKeyPEM: pemKey(t, k.pub),
		Policies: samplePolicies, Now: func() time.Time { return bundleBase.Add(48 * time.Hour) }}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		in.Logs = append(in.Logs, audit.Source{Name: p, R: f})
	}
	if signed {
		in.Sign = signer(k.priv)
	}
	return in
}

func writeBundle(t testing.TB, in audit.BundleInput) ([]byte, *audit.BundleManifest) {
	t.Helper()
	var buf bytes.Buffer
	m, err := audit.WriteBundle(context.Background(), &buf, in)
	if err != nil {
		t.Fatalf("WriteBundle: %v", err)
	}
	return buf.Bytes(), m
}

func verifyBundle(t testing.TB, b []byte, pin ed25519.PublicKey) *audit.BundleReport {
	t.Helper()
	rep, err := audit.VerifyBundle(bytes.NewReader(b), int64(len(b)), pin)
	if err != nil {
		t.Fatalf("VerifyBundle: %v", err)
	}
	return rep
}

// zipEntry is one file of a zip, in order.
type zipEntry struct {
	name string
	data []byte
}

func readZip(t testing.TB, b []byte) []zipEntry {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []zipEntry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, zipEntry{f.Name, data})
	}
	return out
}

func writeZip(t testing.TB, entries []zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func entryData(t testing.TB, entries []zipEntry, name string) []byte {
	t.Helper()
	for _, e := range entries {
		if e.name == name {
			return e.data
		}
	}
	t.Fatalf("no %s in the bundle", name)
	return nil
}

func setEntry(entries []zipEntry, name string, data []byte) []zipEntry {
	out := make([]zipEntry, len(entries))
	copy(out, entries)
	for i := range out {
		if out[i].name == name {
			out[i].data = data
		}
	}
	return out
}

// reseal recomputes what a forger who rewrites a bundle recomputes: the
// manifest's file list, SHA256SUMS, and manifest.sig with priv (dropped,
// and the manifest marked unsigned, when priv is nil). mutate edits the
// manifest first.
func reseal(t testing.TB, entries []zipEntry, priv ed25519.PrivateKey, mutate func(m map[string]any)) []zipEntry {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(entryData(t, entries, audit.BundleManifestFile), &m); err != nil {
		t.Fatal(err)
	}
	m["signed"] = priv != nil
	if mutate != nil {
		mutate(m)
	}
	var sums strings.Builder
	for _, f := range m["files"].([]any) {
		f := f.(map[string]any)
		data := entryData(t, entries, f["name"].(string))
		f["sha256"], f["size"] = sha256Hex(data), len(data)
		fmt.Fprintf(&sums, "%s  %s\n", f["sha256"], f["name"])
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&sums, "%s  manifest.json\n", sha256Hex(mj))
	var out []zipEntry
	for _, e := range entries {
		switch e.name {
		case audit.BundleManifestFile:
			e.data = mj
		case audit.BundleSumsFile:
			e.data = []byte(sums.String())
		case audit.BundleSignatureFile:
			continue
		}
		out = append(out, e)
	}
	if priv != nil {
		sig := ed25519.Sign(priv, audit.ManifestMessage(sha256.Sum256(mj)))
		out = append(out, zipEntry{audit.BundleSignatureFile, []byte(base64.StdEncoding.EncodeToString(sig) + "\n")})
	}
	return out
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// parsedLine is what the tests read of a log line.
type parsedLine struct {
	raw        []byte
	checkpoint bool
	entry      bool
	time       time.Time
	seq        uint64
}

func parseLines(t testing.TB, raw [][]byte) []parsedLine {
	t.Helper()
	out := make([]parsedLine, len(raw))
	for i, l := range raw {
		m := decode(t, l)
		tm, err := time.Parse(time.RFC3339Nano, m["time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = parsedLine{raw: l, checkpoint: m["type"] == "checkpoint", entry: m["type"] != "checkpoint",
			time: tm, seq: uint64(m["seq"].(float64))}
	}
	return out
}

// allLines reads the log files, oldest first, as one list.
func allLines(t testing.TB, paths []string) []parsedLine {
	t.Helper()
	var raw [][]byte
	for _, p := range paths {
		raw = append(raw, readLines(t, p)...)
	}
	return parseLines(t, raw)
}

// expectedSlice is the documented rule, computed directly: from the last
// checkpoint before the first entry at or after since (else the first
// line) through the first checkpoint at or after the last entry at or
// before until (else the last line).
func expectedSlice(lines []parsedLine, since, until time.Time) (start, end, inRange int) {
	first, last := len(lines), -1
	for i, l := range lines {
		if l.entry && !l.time.Before(since) && first == len(lines) {
			first = i
		}
		if l.entry && !l.time.After(until) {
			last = i
		}
		if l.entry && !l.time.Before(since) && !l.time.After(until) {
			inRange++
		}
	}
	for i := min(first, len(lines)-1); i >= 0; i-- {
		if lines[i].checkpoint && i < first {
			start = i
			break
		}
	}
	end = len(lines) - 1
	for i := max(last, start); i < len(lines); i++ {
		if lines[i].checkpoint {
			end = i
			break
		}
	}
	return start, end, inRange
}

// bundleLogLines is the lines of logs/, in the manifest's order.
func bundleLogLines(t testing.TB, entries []zipEntry, m *audit.BundleManifest) [][]byte {
	t.Helper()
	var raw [][]byte
	for _, l := range m.Logs {
		data := entryData(t, entries, l.File)
		raw = append(raw, bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))...)
	}
	return raw
}

func TestBundleRoundTrip(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	paths := rotatedLog(t, k, t.TempDir())
	lines := allLines(t, paths)
	tests := []struct {
		name         string
		since, until time.Time
		files        int // log files in the bundle
	}{
		{"whole log", minute(0), minute(29), 2},
		{"middle across the rotation", minute(10), minute(18), 2},
		{"middle of the newer file", minute(21), minute(23), 1},
		{"middle of the older file", minute(5), minute(6), 1},
		{"one instant", minute(7), minute(7), 1},
		{"no entry in a gap", minute(17).Add(10 * time.Second), minute(17).Add(20 * time.Second), 1},
		{"before the log", minute(-100), minute(-50), 1},
		{"after the log", minute(100), minute(200), 1},
	}
	for _, tt := range tests {
		for _, signed := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s signed=%v", tt.name, signed), func(t *testing.T) {
				t.Parallel()
				b, m := writeBundle(t, bundleInput(t, k, paths, tt.since, tt.until, signed))
				rep := verifyBundle(t, b, k.pub)
				if !rep.OK || rep.Signed != signed || !rep.Pinned || rep.KeyID != audit.KeyID(k.pub) {
					t.Fatalf("report = %+v, problem %v", rep, rep.Problem)
				}
				start, end, inRange := expectedSlice(lines, tt.since, tt.until)
				got := bundleLogLines(t, readZip(t, b), m)
				if len(got) != end-start+1 {
					t.Fatalf("bundle holds %d lines, want lines %d..%d of the log", len(got), start, end)
				}
				for i := range got {
					if !bytes.Equal(got[i], lines[start+i].raw) {
						t.Fatalf("bundle line %d is not log line %d", i, start+i)
					}
				}
				if m.EntriesInRange != inRange || m.FirstSeq != lines[start].seq || m.LastSeq != lines[end].seq ||
					len(m.Logs) != tt.files || m.OpenTail != 0 || !m.Log.OK {
					t.Errorf("manifest = %+v, want %d entries in range, seq %d..%d, %d files",
						m, inRange, lines[start].seq, lines[end].seq, tt.files)
				}
			})
		}
	}
}

func TestBundleTamperEachFile(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	paths := rotatedLog(t, k, t.TempDir())
	for _, signed := range []bool{true, false} {
		b, _ := writeBundle(t, bundleInput(t, k, paths, minute(10), minute(18), signed))
		entries := readZip(t, b)
		if signed && len(entries) != 11 || !signed && len(entries) != 10 {
			t.Fatalf("signed=%v: %d files in the bundle", signed, len(entries))
		}
		for _, e := range entries {
			for _, at := range []int{0, len(e.data) / 2, len(e.data) - 1} {
				t.Run(fmt.Sprintf("signed=%v %s byte %d", signed, e.name, at), func(t *testing.T) {
					t.Parallel()
					data := bytes.Clone(e.data)
					data[at] ^= 0x01
					rep := verifyBundle(t, writeZip(t, setEntry(entries, e.name, data)), k.pub)
					if rep.OK || rep.Problem == nil {
						t.Fatalf("tampered bundle verified: %+v", rep)
					}
					if !namesFile(rep.Problem, e.name, signed) {
						t.Errorf("problem %q does not name %s", rep.Problem, e.name)
					}
				})
			}
		}
	}
}

// namesFile reports whether p blames name. Without manifest.sig, a
// mismatch between manifest.json and SHA256SUMS's line for it cannot
// tell which was altered: the problem names both.
func namesFile(p *audit.BundleProblem, name string, signed bool) bool {
	if p.File == name {
		return true
	}
	ambiguous := !signed && p.File == audit.BundleManifestFile && strings.Contains(p.Detail, audit.BundleSumsFile)
	return ambiguous && name == audit.BundleSumsFile
}

func TestBundleZipLevelTampering(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	paths := rotatedLog(t, k, t.TempDir())
	b, m := writeBundle(t, bundleInput(t, k, paths, minute(10), minute(18), true))
	entries := readZip(t, b)
	without := func(name string) []zipEntry {
		var out []zipEntry
		for _, e := range entries {
			if e.name != name {
				out = append(out, e)
			}
		}
		return out
	}
	log := m.Logs[0].File
	sums := entryData(t, entries, audit.BundleSumsFile)
	tests := []struct {
		name    string
		entries []zipEntry
		file    string
		reason  audit.BundleReason
	}{
		{"extra file", plus(entries, zipEntry{"notes.txt", []byte("x")}), "notes.txt", audit.BundleUnlisted},
		{"extra file in SHA256SUMS only", setEntry(plus(entries, zipEntry{"notes.txt", []byte("x")}), audit.BundleSumsFile,
			append(bytes.Clone(sums), []byte(sha256Hex([]byte("x"))+"  notes.txt\n")...)), audit.BundleManifestFile, audit.BundleModified},
		{"log removed", without(log), log, audit.BundleMissing},
		{"signature removed", without(audit.BundleSignatureFile), audit.BundleSignatureFile, audit.BundleBadSignature},
		{"manifest removed", without(audit.BundleManifestFile), audit.BundleManifestFile, audit.BundleMissing},
		{"duplicate file", plus(entries, zipEntry{log, entryData(t, entries, log)}), log, audit.BundleMalformed},
		{"unsafe name", plus(entries, zipEntry{"../evil", []byte("x")}), "../evil", audit.BundleMalformed},
		{"second key", plus(entries, zipEntry{"keys/other.pem", pemKey(t, newKeys(t).pub)}), "keys/", audit.BundleMalformed},
		{"sums reordered", setEntry(entries, audit.BundleSumsFile, reorder(sums)), audit.BundleSumsFile, audit.BundleModified},
		{"line dropped, resealed unsigned", reseal(t, setEntry(entries, log, dropLine(entryData(t, entries, log), 2)), nil, nil),
			log, audit.BundleChain},
		{"line dropped, resealed by another key", reseal(t, setEntry(entries, log, dropLine(entryData(t, entries, log), 2)), newKeys(t).priv, nil),
			audit.BundleSignatureFile, audit.BundleBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep := verifyBundle(t, writeZip(t, tt.entries), k.pub)
			if rep.OK || rep.Problem.File != tt.file || rep.Problem.Reason != tt.reason {
				t.Fatalf("problem = %v, want %s: %s", rep.Problem, tt.file, tt.reason)
			}
		})
	}
	if _, err := audit.VerifyBundle(bytes.NewReader([]byte("not a zip")), 9, nil); err == nil {
		t.Error("VerifyBundle accepted a file that is not a zip")
	}
}

// plus returns a copy of entries with more.
func plus(entries []zipEntry, more ...zipEntry) []zipEntry {
	return append(slices.Clone(entries), more...)
}

// reorder swaps the first two lines of SHA256SUMS.
func reorder(sums []byte) []byte {
	l := bytes.SplitAfter(sums, []byte("\n"))
	l[0], l[1] = l[1], l[0]
	return bytes.Join(l, nil)
}

// dropLine removes line i (0-based) of a log file.
func dropLine(data []byte, i int) []byte {
	l := bytes.SplitAfter(data, []byte("\n"))
	return bytes.Join(append(l[:i:i], l[i+1:]...), nil)
}
