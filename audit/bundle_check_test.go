package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// prevHashRE finds the chain field of a line (the last one).
var prevHashRE = regexp.MustCompile(`"prev_hash":"[0-9a-f]{64}"`)

// setPrevHash replaces the line's prev_hash.
func setPrevHash(line []byte, h string) []byte {
	locs := prevHashRE.FindAllIndex(line, -1)
	loc := locs[len(locs)-1]
	return append(append(append([]byte(nil), line[:loc[0]]...), `"prev_hash":"`+h+`"`...), line[loc[1]:]...)
}

// forgeCheckpoint signs a checkpoint line anew with priv, naming its key.
func forgeCheckpoint(line []byte, priv ed25519.PrivateKey) []byte {
	s := string(line)
	msg := s[:strings.LastIndex(s, `,"signature":"`)] + "}"
	j := strings.Index(msg, `"key_id":"`) + len(`"key_id":"`)
	msg = msg[:j] + audit.KeyID(priv.Public().(ed25519.PublicKey)) + msg[j+16:]
	sig := ed25519.Sign(priv, []byte(msg))
	return []byte(msg[:len(msg)-1] + `,"signature":"` + base64.StdEncoding.EncodeToString(sig) + `"}`)
}

// rechain rewrites the logs of a bundle as a forger with key priv would:
// edit changes the lines of all the files first (nil: none; the last file
// takes up a change in their number), then every prev_hash after the
// first line is recomputed and, when priv is set, every checkpoint signed
// by priv.
func rechain(t testing.TB, entries []zipEntry, m *audit.BundleManifest, priv ed25519.PrivateKey, edit func([][]byte) [][]byte) []zipEntry {
	t.Helper()
	var lines [][]byte
	var counts []int
	for _, l := range m.Logs {
		ls := bytes.Split(bytes.TrimSuffix(entryData(t, entries, l.File), []byte("\n")), []byte("\n"))
		lines, counts = append(lines, ls...), append(counts, len(ls))
	}
	if edit != nil {
		lines = edit(lines)
		counts[len(counts)-1] += len(lines) - sum(counts)
	}
	for i := range lines {
		if i > 0 {
			lines[i] = setPrevHash(lines[i], sha256Hex(lines[i-1]))
		}
		if bytes.Contains(lines[i], []byte(`"type":"checkpoint"`)) && priv != nil {
			lines[i] = forgeCheckpoint(lines[i], priv)
		}
	}
	for i, l := range m.Logs {
		data := append(bytes.Join(lines[:counts[i]], []byte("\n")), '\n')
		lines = lines[counts[i]:]
		entries = setEntry(entries, l.File, data)
	}
	return entries
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// TestBundlePin: a forger who re-signs every checkpoint and the manifest
// with another key makes a bundle that verifies on its own; only the
// trusted key (the pin) catches it.
func TestBundlePin(t *testing.T) {
	t.Parallel()
	k, other := newKeys(t), newKeys(t)
	paths := rotatedLog(t, k, t.TempDir())
	b, m := writeBundle(t, bundleInput(t, k, paths, minute(10), minute(18), true))
	entries := rechain(t, setEntry(readZip(t, b), m.KeyFile, pemKey(t, other.pub)), m, other.priv, nil)
	ver := entryData(t, entries, audit.BundleVerificationFile)
	entries = setEntry(entries, audit.BundleVerificationFile, bytes.ReplaceAll(ver, []byte(m.KeyID), []byte(audit.KeyID(other.pub))))
	forged := writeZip(t, reseal(t, entries, other.priv, func(mf map[string]any) { mf["key_id"] = audit.KeyID(other.pub) }))
	if rep := verifyBundle(t, forged, nil); !rep.OK || rep.KeyID != audit.KeyID(other.pub) || rep.Pinned || !rep.Signed {
		t.Fatalf("forged bundle without a pin: %+v, problem %v", rep, rep.Problem)
	}
	rep := verifyBundle(t, forged, k.pub)
	if rep.OK || rep.Problem.Reason != audit.BundleKeyMismatch || rep.Problem.File != m.KeyFile ||
		!strings.Contains(rep.Problem.Detail, audit.KeyID(k.pub)) || !strings.Contains(rep.Problem.Detail, audit.KeyID(other.pub)) {
		t.Fatalf("forged bundle against the pin: %v", rep.Problem)
	}
	if rep := verifyBundle(t, b, other.pub); rep.OK || rep.Problem.Reason != audit.BundleKeyMismatch {
		t.Fatalf("genuine bundle against another pin: %v", rep.Problem)
	}
	// The checkpoints alone still name the device key: a forger who swaps
	// the key and the manifest signature but not the log is caught without
	// a pin.
	swapped := writeZip(t, reseal(t, setEntry(readZip(t, b), m.KeyFile, pemKey(t, other.pub)), other.priv,
		func(mf map[string]any) { mf["key_id"] = audit.KeyID(other.pub) }))
	if rep := verifyBundle(t, swapped, nil); rep.OK || rep.Problem.Reason != audit.BundleChain {
		t.Fatalf("key swapped, log kept: %v", rep.Problem)
	}
}

// readmeCommands returns the commands of README.txt, in order.
func readmeCommands(t testing.TB, readme []byte) []string {
	t.Helper()
	var cmds []string
	for _, l := range strings.Split(string(readme), "\n") {
		if c, ok := strings.CutPrefix(l, "    $ "); ok {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("README.txt holds %d commands", len(cmds))
	}
	return cmds
}

// runReadme runs the README's commands on bundle as an auditor would:
// the first in the directory holding bundle.zip, the others in the one it
// unzips to. It returns the first failing command ("" if none) and the
// output of all that ran.
func runReadme(t testing.TB, cmds []string, bundle []byte) (failed, output string) {
	t.Helper()
	for _, tool := range []string{"sh", "unzip", "openssl", "sha256sum", "base64", "sed", "awk", "cmp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required by the README check: %v", tool, err)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bundle.zip"), bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for i, c := range cmds {
		cmd := exec.Command("sh", "-c", c)
		cmd.Dir = dir
		if i > 0 {
			cmd.Dir = filepath.Join(dir, "bundle")
		}
		b, err := cmd.CombinedOutput()
		out.Write(b)
		if err != nil {
			return c, out.String()
		}
	}
	return "", out.String()
}

// TestBundleReadmeByHand runs README.txt's commands (unzip, sha256sum,
// sed, awk, OpenSSL): they pass on a genuine bundle, and each check fails
// on the forgery it is there to catch.
func TestBundleReadmeByHand(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	paths := rotatedLog(t, k, t.TempDir())
	b, m := writeBundle(t, bundleInput(t, k, paths, minute(10), minute(18), true))
	entries := readZip(t, b)
	cmds := readmeCommands(t, entryData(t, entries, audit.BundleReadmeFile))
	failed, out := runReadme(t, cmds, b)
	if failed != "" {
		t.Fatalf("README command failed on a genuine bundle: %s\n%s", failed, out)
	}
	for _, want := range []string{audit.KeyID(k.pub) + "\n", "chain OK", "checkpoints OK", "key ids OK", "Signature Verified Successfully"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	last := m.Logs[len(m.Logs)-1].File
	edit := func(f func([][]byte) [][]byte) []byte {
		return writeZip(t, reseal(t, rechain(t, entries, m, nil, f), k.priv, nil))
	}
	tests := []struct {
		name   string
		bundle []byte
		fails  string // a part of the first command that must fail
	}{
		{"byte changed", writeZip(t, setEntry(entries, last, bytes.Replace(entryData(t, entries, last), []byte(`"update"`), []byte(`"delete"`), 1))),
			"sha256sum -c"},
		{"manifest changed, sums recomputed", func() []byte {
			e := reseal(t, entries, nil, func(mf map[string]any) { mf["entries_in_range"], mf["signed"] = 1, true })
			return writeZip(t, plus(e, zipEntry{audit.BundleSignatureFile, entryData(t, entries, audit.BundleSignatureFile)}))
		}(), "manifest.sig.bin"},
		{"line dropped, rechained", edit(func(l [][]byte) [][]byte { return append(l[:3:3], l[4:]...) }), "awk"},
		{"line edited", writeZip(t, reseal(t, setEntry(entries, last, bytes.Replace(entryData(t, entries, last),
			[]byte(`"update"`), []byte(`"delete"`), 1)), k.priv, nil)), "cmp - hashes"},
		{"last checkpoint edited", edit(func(l [][]byte) [][]byte {
			l[len(l)-1] = regexp.MustCompile(`"count":\d+`).ReplaceAll(l[len(l)-1], []byte(`"count":99`))
			return l
		}), "checkpoint.sig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			failed, out := runReadme(t, cmds, tt.bundle)
			if !strings.Contains(failed, tt.fails) {
				t.Fatalf("first failing command = %q, want the one with %q\n%s", failed, tt.fails, out)
			}
			if rep := verifyBundle(t, tt.bundle, k.pub); rep.OK {
				t.Errorf("VerifyBundle accepted what the README check refused")
			}
		})
	}
}

func TestBundleReadmeUnsigned(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	paths := rotatedLog(t, k, t.TempDir())
	b, _ := writeBundle(t, bundleInput(t, k, paths, minute(3), minute(25), false))
	readme := entryData(t, readZip(t, b), audit.BundleReadmeFile)
	if !bytes.Contains(readme, []byte("NOT signed")) || bytes.Contains(readme, []byte("manifest.sig.bin")) {
		t.Fatalf("unsigned README:\n%s", readme)
	}
	if failed, out := runReadme(t, readmeCommands(t, readme), b); failed != "" {
		t.Fatalf("README command failed on a genuine unsigned bundle: %s\n%s", failed, out)
	}
}

// TestBundleLiveLog exports a live log, whose last entries follow its
// last checkpoint: only a signed bundle may hold them.
func TestBundleLiveLog(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	path := tempLog(t)
	o := k.opts()
	o.CheckpointEvery = 4
	d := openFile(t, path, o)
	t.Cleanup(func() { d.Close() })
	logAt(t, d, 0, 10)
	lines := allLines(t, []string{path})
	tail := 0
	for tail < len(lines) && !lines[len(lines)-1-tail].checkpoint {
		tail++
	}
	if tail == 0 || tail == len(lines) {
		t.Fatalf("live log of %d lines has %d after its last checkpoint", len(lines), tail)
	}
	b, m := writeBundle(t, bundleInput(t, k, []string{path}, minute(5), minute(30), true))
	if m.OpenTail != tail || m.Log.OpenTail != tail {
		t.Fatalf("manifest open tail %d (log %d), want %d", m.OpenTail, m.Log.OpenTail, tail)
	}
	if rep := verifyBundle(t, b, k.pub); !rep.OK || rep.Slice.OpenTail != tail {
		t.Fatalf("live log bundle: %+v, problem %v", rep, rep.Problem)
	}
	var buf bytes.Buffer
	if _, err := audit.WriteBundle(context.Background(), &buf, bundleInput(t, k, []string{path}, minute(5), minute(30), false)); !errors.Is(err, audit.ErrUnsignedTail) {
		t.Fatalf("unsigned export of a live log: %v, want ErrUnsignedTail", err)
	}
	entries := readZip(t, b)
	stripped := writeZip(t, reseal(t, entries, nil, nil))
	if rep := verifyBundle(t, stripped, k.pub); rep.OK || rep.Problem.Reason != audit.BundleChain {
		t.Fatalf("live log bundle with its signature stripped: %v", rep.Problem)
	}
}

func TestWriteBundleErrors(t *testing.T) {
	t.Parallel()
	k, other := newKeys(t), newKeys(t)
	dir := t.TempDir()
	paths := rotatedLog(t, k, dir)
	edited := filepath.Join(dir, "edited.log")
	editEntry(t, paths[1], edited)
	headless := filepath.Join(dir, "headless.log") // the newer file without its open checkpoint
	newer := readLines(t, paths[1])
	if err := os.WriteFile(headless, append(bytes.Join(newer[1:], []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	full := func(since, until int) audit.BundleInput {
		return bundleInput(t, k, paths, minute(since), minute(until), true)
	}
	tests := []struct {
		name   string
		in     func() audit.BundleInput
		target error
	}{
		{"until before since", func() audit.BundleInput { return full(5, 4) }, logical.ErrInvalidRequest},
		{"no since", func() audit.BundleInput { in := full(5, 6); in.Since = time.Time{}; return in }, logical.ErrInvalidRequest},
		{"no logs", func() audit.BundleInput { in := full(5, 6); in.Logs = nil; return in }, logical.ErrInvalidRequest},
		{"no device", func() audit.BundleInput { in := full(5, 6); in.Device = "/"; return in }, logical.ErrInvalidRequest},
		{"not a PEM key", func() audit.BundleInput { in := full(5, 6); in.PublicKeyPEM = []byte("key"); return in }, logical.ErrInvalidRequest},
		{"same file twice", func() audit.BundleInput { in := full(5, 6); in.Logs = append(in.Logs, in.Logs[1]); return in }, logical.ErrInvalidRequest},
		{"policy escapes", func() audit.BundleInput {
			in := full(5, 6)
			in.Policies = map[string][]byte{"../x.cedar": nil}
			return in
		}, logical.ErrInvalidRequest},
		{"policy takes a reserved name", func() audit.BundleInput {
			in := full(5, 6)
			in.Policies = map[string][]byte{"manifest.json": nil}
			return in
		}, logical.ErrInvalidRequest},
		{"head of the log cut", func() audit.BundleInput { return bundleInput(t, k, []string{headless}, minute(14), minute(15), true) }, audit.ErrNoAnchor},
		{"another device's key", func() audit.BundleInput {
			in := full(5, 6)
			in.PublicKeyPEM = pemKey(t, other.pub)
			return in
		}, audit.ErrSliceInvalid},
		{"edited line in the range", func() audit.BundleInput {
			return bundleInput(t, k, []string{paths[0], edited}, minute(15), minute(28), true)
		}, audit.ErrSliceInvalid},
		{"signature by another key", func() audit.BundleInput { in := full(5, 6); in.Sign = signer(other.priv); return in }, nil},
		{"signer fails", func() audit.BundleInput {
			in := full(5, 6)
			in.Sign = func(context.Context, [32]byte) ([]byte, error) { return nil, errors.New("sealed") }
			return in
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			_, err := audit.WriteBundle(context.Background(), &buf, tt.in())
			if err == nil || tt.target != nil && !errors.Is(err, tt.target) {
				t.Fatalf("WriteBundle: %v, want %v", err, tt.target)
			}
			if buf.Len() != 0 {
				t.Errorf("WriteBundle wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

// TestBundleProblemOutsideRange: an edit outside the range is reported in
// verification.json but does not stop the export.
func TestBundleProblemOutsideRange(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	dir := t.TempDir()
	paths := rotatedLog(t, k, dir)
	editEntry(t, paths[1], paths[1])
	b, m := writeBundle(t, bundleInput(t, k, paths, minute(2), minute(6), true))
	if m.Log.OK || m.Log.Problem == nil || m.Log.Problem.File != paths[1] {
		t.Fatalf("whole-log report = %+v", m.Log)
	}
	if rep := verifyBundle(t, b, k.pub); !rep.OK {
		t.Fatalf("bundle of a good range: %v", rep.Problem)
	}
	var v struct {
		Log struct {
			OK      bool `json:"ok"`
			Problem struct {
				File   string `json:"file"`
				Reason string `json:"reason"`
			} `json:"problem"`
		} `json:"log"`
	}
	if err := json.Unmarshal(entryData(t, readZip(t, b), audit.BundleVerificationFile), &v); err != nil {
		t.Fatal(err)
	}
	if v.Log.OK || v.Log.Problem.File != paths[1] || v.Log.Problem.Reason != string(audit.ReasonEdited) {
		t.Errorf("verification.json log = %+v", v.Log)
	}
}

// editEntry writes to dst the log at src with its middle entry's
// operation changed.
func editEntry(t testing.TB, src, dst string) {
	t.Helper()
	lines := readLines(t, src)
	for i := len(lines) / 2; ; i++ {
		if e := bytes.Replace(lines[i], []byte(`"operation":"update"`), []byte(`"operation":"delete"`), 1); !bytes.Equal(e, lines[i]) {
			lines[i] = e
			break
		}
	}
	if err := os.WriteFile(dst, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestManifestMessage(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"", "{}", "manifest"} {
		sum := sha256.Sum256([]byte(content))
		msg := audit.ManifestMessage(sum)
		want := "secretum-audit-bundle-manifest-v1\n" + hex.EncodeToString(sum[:])
		if string(msg) != want {
			t.Errorf("ManifestMessage = %q, want %q", msg, want)
		}
		if msg[0] == '{' || json.Valid(msg) {
			t.Errorf("ManifestMessage %q could be a checkpoint's signed message", msg)
		}
	}
}

// restartedLog writes a log whose device stops uncleanly once (its file
// is copied while it runs, and a device opened on the copy) and restarts
// once with a seq jump (Options.Floor), every line prefixed: the paths,
// oldest first, and the prefix.
func restartedLog(t testing.TB, k keys, dir string) ([]string, string) {
	t.Helper()
	const prefix = "audit: "
	o := k.opts()
	o.CheckpointEvery, o.Prefix = 4, prefix
	live := filepath.Join(dir, "live.log")
	d := openFile(t, live, o)
	logAt(t, d, 0, 6)
	b, err := os.ReadFile(live) // the state a crash leaves: no close checkpoint
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	d = openFile(t, path, o) // an unclean stop: the open checkpoint follows an entry
	logAt(t, d, 6, 6)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	o.Floor = d.Position().Seq + 100
	d = openFile(t, path, o) // a gap: seq jumps at the open checkpoint
	logAt(t, d, 12, 6)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return []string{path}, prefix
}

// TestBundlePrefixGapsUncleanStops: lines with a prefix, a seq jump at
// an open checkpoint and an unclean stop export, verify and pass the
// README's checks; the manifest counts the jump and the stop.
func TestBundlePrefixGapsUncleanStops(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	paths, prefix := restartedLog(t, k, t.TempDir())
	in := bundleInput(t, k, paths, minute(2), minute(15), true)
	in.Prefix = prefix
	b, m := writeBundle(t, in)
	if m.Gaps != 1 || m.UncleanStops != 1 || m.Prefix != prefix || !m.Log.OK || m.Log.Gaps != 1 || m.Log.UncleanStops != 1 {
		t.Fatalf("manifest = %+v", m)
	}
	if rep := verifyBundle(t, b, k.pub); !rep.OK || rep.Slice.Gaps != 1 || rep.Slice.UncleanStops != 1 {
		t.Fatalf("report = %+v, problem %v", rep, rep.Problem)
	}
	readme := entryData(t, readZip(t, b), audit.BundleReadmeFile)
	if !bytes.Contains(readme, []byte(`every line starts with "audit: "`)) || !bytes.Contains(readme, []byte("stopped uncleanly 1 time(s)")) {
		t.Errorf("README.txt does not tell the prefix and the unclean stop:\n%s", readme)
	}
	if failed, out := runReadme(t, readmeCommands(t, readme), b); failed != "" {
		t.Fatalf("README command failed: %s\n%s", failed, out)
	}
	// A jump anywhere but at an open checkpoint fails the README's seq
	// check: drop an entry and rechain.
	entries := readZip(t, b)
	dropped := writeZip(t, reseal(t, rechain(t, entries, m, nil, func(l [][]byte) [][]byte {
		for i := len(l) - 2; i > 0; i-- {
			if !bytes.Contains(l[i], []byte(`"type":"checkpoint"`)) {
				return append(l[:i:i], l[i+1:]...)
			}
		}
		t.Fatal("no entry to drop")
		return nil
	}), k.priv, nil))
	if failed, out := runReadme(t, readmeCommands(t, readme), dropped); !strings.Contains(failed, "awk") {
		t.Fatalf("first failing command = %q, want the seq check\n%s", failed, out)
	}
	// Without the prefix the lines are not entries.
	in = bundleInput(t, k, paths, minute(2), minute(15), true)
	var buf bytes.Buffer
	if _, err := audit.WriteBundle(context.Background(), &buf, in); !errors.Is(err, audit.ErrSliceInvalid) {
		t.Fatalf("export without the prefix: %v, want ErrSliceInvalid", err)
	}
}

// TestBundleNames: log and device names become names README.txt's shell
// commands need not quote, and the commands still pass.
func TestBundleNames(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	dir := t.TempDir()
	paths := rotatedLog(t, k, dir)
	odd := filepath.Join(dir, "audit $(touch pwned).log")
	if err := os.Rename(paths[1], odd); err != nil {
		t.Fatal(err)
	}
	in := bundleInput(t, k, []string{paths[0], odd}, minute(10), minute(18), true)
	in.Device = "ops/`id`;x/"
	b, m := writeBundle(t, in)
	if m.KeyFile != "keys/ops-_id__x.pem" || m.Logs[1].File != "logs/audit___touch_pwned_.log" || m.Logs[1].Source != odd {
		t.Fatalf("names: key %q, logs %+v", m.KeyFile, m.Logs)
	}
	if rep := verifyBundle(t, b, k.pub); !rep.OK {
		t.Fatalf("bundle: %v", rep.Problem)
	}
	entries := readZip(t, b)
	cmds := readmeCommands(t, entryData(t, entries, audit.BundleReadmeFile))
	if failed, out := runReadme(t, cmds, b); failed != "" {
		t.Fatalf("README command failed: %s\n%s", failed, out)
	}
}

func TestWriteBundleCancelled(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	paths := rotatedLog(t, k, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if _, err := audit.WriteBundle(ctx, &buf, bundleInput(t, k, paths, minute(0), minute(29), true)); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteBundle with a cancelled context: %v", err)
	}
}
