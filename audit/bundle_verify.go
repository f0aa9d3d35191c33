package audit

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
)

// maxSmallFile bounds the files VerifyBundle reads whole (all but the
// logs, which it streams).
const maxSmallFile = 16 << 20

// VerifyBundle checks the evidence bundle in r (a zip of size bytes, as
// WriteBundle writes it), offline:
//
//   - every file is listed in manifest.json with its SHA-256 and size,
//     and no other file is in the zip;
//   - SHA256SUMS is exactly sha256sum's rendering of that list plus
//     manifest.json;
//   - manifest.sig, when present (required when the manifest says it is
//     signed), verifies with the bundle's key over ManifestMessage;
//   - the log files verify as one chain whose checkpoints are signed by
//     the bundle's key, whose first line is a checkpoint or the log's
//     first line (seq 1), and whose entries after the last checkpoint, if
//     any, are covered by manifest.sig;
//   - manifest.json and verification.json agree with the logs;
//   - with pin (the key the auditor trusts; nil: none), the bundle's key
//     is pin.
//
// The error is for an unreadable zip; a bad bundle is a report with its
// first Problem.
func VerifyBundle(r io.ReaderAt, size int64, pin ed25519.PublicKey) (*BundleReport, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("audit: verify bundle: %w", err)
	}
	v := &bundleVerifier{zr: zr, pin: pin, rep: &BundleReport{}}
	if p := v.run(); p != nil {
		v.rep.Problem = p
		return v.rep, nil
	}
	v.rep.OK = true
	return v.rep, nil
}

// digest is a file's SHA-256 (hex) and size.
type digest struct {
	sha  string
	size int64
}

// bundleVerifier carries one verification.
type bundleVerifier struct {
	zr  *zip.Reader
	pin ed25519.PublicKey
	rep *BundleReport

	files    map[string]*zip.File
	actual   map[string]digest
	sums     map[string]string // SHA256SUMS: name -> hex
	listed   map[string]BundleFile
	m        *BundleManifest
	manifest []byte // manifest.json as read
	rawSums  []byte
	pub      ed25519.PublicKey
	keyFile  string
	sig      []byte // nil: no manifest.sig
}

// fail builds a problem.
func fail(file string, r BundleReason, format string, a ...any) *BundleProblem {
	return &BundleProblem{File: file, Reason: r, Detail: fmt.Sprintf(format, a...)}
}

// run makes the checks in order; each names the file at fault.
func (v *bundleVerifier) run() *BundleProblem {
	steps := []func() *BundleProblem{
		v.index, v.readManifest, v.readSums, v.hashAll, v.readKey, v.checkManifestFile,
		v.checkListed, v.checkUnlisted, v.checkSums, v.checkKey, v.checkLogs, v.checkVerification,
	}
	for _, step := range steps {
		if p := step(); p != nil {
			return p
		}
	}
	return nil
}

// index maps the zip's names, refusing unsafe and duplicate ones.
func (v *bundleVerifier) index() *BundleProblem {
	v.files = map[string]*zip.File{}
	for _, f := range v.zr.File {
		if err := checkBundleName(f.Name); err != nil {
			return fail(f.Name, BundleMalformed, "%v", err)
		}
		if v.files[f.Name] != nil {
			return fail(f.Name, BundleMalformed, "the zip holds two files of this name")
		}
		v.files[f.Name] = f
	}
	for _, name := range []string{BundleManifestFile, BundleSumsFile} {
		if v.files[name] == nil {
			return fail(name, BundleMissing, "not in the bundle")
		}
	}
	return nil
}

// readSmall reads a whole file of the zip.
func (v *bundleVerifier) readSmall(name string) ([]byte, *BundleProblem) {
	rc, err := v.files[name].Open()
	if err != nil {
		return nil, fail(name, BundleMalformed, "cannot be read: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSmallFile+1))
	if err != nil {
		return nil, fail(name, BundleMalformed, "cannot be read: %v", err)
	}
	if len(b) > maxSmallFile {
		return nil, fail(name, BundleMalformed, "larger than %d bytes", maxSmallFile)
	}
	return b, nil
}

func (v *bundleVerifier) readManifest() *BundleProblem {
	b, p := v.readSmall(BundleManifestFile)
	if p != nil {
		return p
	}
	var m BundleManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fail(BundleManifestFile, BundleMalformed, "not a manifest: %v", err)
	}
	if m.Version != BundleVersion {
		return fail(BundleManifestFile, BundleMalformed, "version %d, want %d", m.Version, BundleVersion)
	}
	v.listed = map[string]BundleFile{}
	for _, f := range m.Files {
		if _, dup := v.listed[f.Name]; dup || f.Name == BundleManifestFile || f.Name == BundleSumsFile || f.Name == BundleSignatureFile {
			return fail(BundleManifestFile, BundleInconsistent, "lists %q twice or as a file it cannot list", f.Name)
		}
		v.listed[f.Name] = f
	}
	v.m, v.manifest, v.rep.Manifest = &m, b, &m
	return nil
}

// sumsLine is one line of SHA256SUMS.
var sumsLine = regexp.MustCompile(`^([0-9a-f]{64})  (.+)$`)

func (v *bundleVerifier) readSums() *BundleProblem {
	b, p := v.readSmall(BundleSumsFile)
	if p != nil {
		return p
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return fail(BundleSumsFile, BundleMalformed, "does not end with a newline")
	}
	v.sums = map[string]string{}
	for i, line := range strings.Split(string(b[:len(b)-1]), "\n") {
		m := sumsLine.FindStringSubmatch(line)
		if m == nil {
			return fail(BundleSumsFile, BundleMalformed, "line %d is not \"<sha256>  <file>\"", i+1)
		}
		if _, dup := v.sums[m[2]]; dup {
			return fail(BundleSumsFile, BundleMalformed, "line %d lists %s again", i+1, m[2])
		}
		v.sums[m[2]] = m[1]
	}
	v.rawSums = b
	return nil
}

// hashAll hashes every file but SHA256SUMS and manifest.sig.
func (v *bundleVerifier) hashAll() *BundleProblem {
	v.actual = map[string]digest{}
	for name, f := range v.files {
		if name == BundleSumsFile || name == BundleSignatureFile {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return fail(name, BundleMalformed, "cannot be read: %v", err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return fail(name, BundleMalformed, "cannot be read: %v", err)
		}
		v.actual[name] = digest{sha: hex.EncodeToString(h.Sum(nil)), size: n}
	}
	return nil
}

// readKey finds the one key under keys/, checks it as any listed file,
// and parses it.
func (v *bundleVerifier) readKey() *BundleProblem {
	var keys []string
	for name := range v.files {
		if strings.HasPrefix(name, BundleKeyDir) {
			keys = append(keys, name)
		}
	}
	if len(keys) != 1 {
		return fail(BundleKeyDir, BundleMalformed, "%d files, want the device's public key alone", len(keys))
	}
	v.keyFile = keys[0]
	if p := v.triage(v.keyFile); p != nil {
		return p
	}
	b, p := v.readSmall(v.keyFile)
	if p != nil {
		return p
	}
	pub, err := parseBundleKey(b)
	if err != nil {
		return fail(v.keyFile, BundleMalformed, "%v", err)
	}
	v.pub, v.rep.KeyID = pub, KeyID(pub)
	return nil
}

// triage checks a listed file against manifest.json and SHA256SUMS and,
// when they disagree, names the one of the three that differs from the
// two others.
func (v *bundleVerifier) triage(name string) *BundleProblem {
	a, inZip := v.actual[name]
	l, inList := v.listed[name]
	s, inSums := v.sums[name]
	lOK := inList && l.SHA256 == a.sha && l.Size == a.size
	sOK := inSums && s == a.sha
	switch {
	case !inZip && inList && inSums:
		return fail(name, BundleMissing, "listed in manifest.json and SHA256SUMS but not in the bundle")
	case !inZip:
		return v.oddList(name, inList)
	case lOK && sOK:
		return nil
	case !inList && !inSums:
		return fail(name, BundleUnlisted, "listed neither in manifest.json nor in SHA256SUMS")
	case lOK && !inSums:
		return fail(BundleSumsFile, BundleModified, "does not list %s", name)
	case lOK:
		return fail(BundleSumsFile, BundleModified, "its line for %s is not that file's SHA-256", name)
	case sOK && !inList:
		return fail(BundleManifestFile, BundleModified, "does not list %s, which SHA256SUMS lists", name)
	case sOK:
		return fail(BundleManifestFile, BundleModified, "its entry for %s is not that file's SHA-256 and size", name)
	}
	return fail(name, BundleModified, "SHA-256 %s is not the one manifest.json and SHA256SUMS list", a.sha[:16])
}

// oddList names the list that names a file the zip does not hold.
func (v *bundleVerifier) oddList(name string, inList bool) *BundleProblem {
	if inList {
		return fail(BundleManifestFile, BundleModified, "lists %s, which neither the bundle nor SHA256SUMS holds", name)
	}
	return fail(BundleSumsFile, BundleModified, "lists %s, which neither the bundle nor manifest.json holds", name)
}

// checkManifestFile checks manifest.json against SHA256SUMS and
// manifest.sig: when they disagree, the signature tells which is right.
func (v *bundleVerifier) checkManifestFile() *BundleProblem {
	if p := v.readSignature(); p != nil {
		return p
	}
	a := v.actual[BundleManifestFile].sha
	inSums := v.sums[BundleManifestFile] == a
	var sum [sha256.Size]byte
	_, _ = hex.Decode(sum[:], []byte(a))
	sigOK := v.sig != nil && ed25519.Verify(v.pub, ManifestMessage(sum), v.sig)
	switch {
	case inSums && v.sig != nil && !sigOK:
		return fail(BundleSignatureFile, BundleBadSignature, "does not verify with the bundle's key %s over manifest.json", v.rep.KeyID)
	case !inSums && sigOK:
		return fail(BundleSumsFile, BundleModified, "its line for manifest.json is not that file's SHA-256 (the signed manifest is intact)")
	case !inSums && v.sig != nil:
		return fail(BundleManifestFile, BundleModified, "its SHA-256 is neither the one SHA256SUMS lists nor the one manifest.sig signs")
	case !inSums:
		return fail(BundleManifestFile, BundleModified, "its SHA-256 is not the one SHA256SUMS lists (manifest.json or SHA256SUMS was altered)")
	case v.m.Signed && v.sig == nil:
		return fail(BundleSignatureFile, BundleBadSignature, "missing, while manifest.json says the bundle is signed")
	case !v.m.Signed && v.sig != nil:
		return fail(BundleSignatureFile, BundleUnlisted, "present, while manifest.json says the bundle is unsigned")
	}
	v.rep.Signed = sigOK
	return nil
}

// readSignature reads manifest.sig, if any: standard base64 of a 64-byte
// signature and a newline, exactly.
func (v *bundleVerifier) readSignature() *BundleProblem {
	if v.files[BundleSignatureFile] == nil {
		return nil
	}
	b, p := v.readSmall(BundleSignatureFile)
	if p != nil {
		return p
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(string(b), "\n"))
	if err != nil || len(sig) != ed25519.SignatureSize || !bytes.Equal(encodeSignature(sig), b) {
		return fail(BundleSignatureFile, BundleMalformed, "not the base64 of a %d-byte signature and a newline", ed25519.SignatureSize)
	}
	v.sig = sig
	return nil
}

// checkListed triages every file manifest.json lists.
func (v *bundleVerifier) checkListed() *BundleProblem {
	for _, f := range v.m.Files {
		if p := v.triage(f.Name); p != nil {
			return p
		}
	}
	return nil
}

// checkUnlisted finds files of the zip, or of SHA256SUMS, that
// manifest.json does not list.
func (v *bundleVerifier) checkUnlisted() *BundleProblem {
	for _, f := range v.zr.File {
		switch f.Name {
		case BundleManifestFile, BundleSumsFile, BundleSignatureFile:
			continue
		}
		if p := v.triage(f.Name); p != nil {
			return p
		}
	}
	for name := range v.sums {
		if _, ok := v.listed[name]; !ok && name != BundleManifestFile {
			return fail(BundleSumsFile, BundleModified, "lists %s, which manifest.json does not", name)
		}
	}
	return nil
}

// checkSums requires SHA256SUMS to be exactly what the writer renders.
func (v *bundleVerifier) checkSums() *BundleProblem {
	if !bytes.Equal(v.rawSums, sha256Sums(v.m.Files, v.manifest)) {
		return fail(BundleSumsFile, BundleModified, "not the list of manifest.json's files in its order")
	}
	return nil
}

// checkKey compares the key with the manifest and the pin.
func (v *bundleVerifier) checkKey() *BundleProblem {
	if v.m.KeyFile != v.keyFile {
		return fail(BundleManifestFile, BundleInconsistent, "names the key file %q, the bundle holds %q", v.m.KeyFile, v.keyFile)
	}
	if v.m.KeyID != v.rep.KeyID {
		return fail(BundleManifestFile, BundleKeyMismatch, "names key %s, %s holds key %s", v.m.KeyID, v.keyFile, v.rep.KeyID)
	}
	if v.pin != nil {
		if !v.pub.Equal(v.pin) {
			return fail(v.keyFile, BundleKeyMismatch, "the bundle's key is %s, not the trusted key %s", v.rep.KeyID, KeyID(v.pin))
		}
		v.rep.Pinned = true
	}
	return nil
}

// logFiles lists the log files manifest.json gives, oldest first, and
// checks they are the bundle's files under logs/.
func (v *bundleVerifier) logFiles() ([]string, *BundleProblem) {
	var names []string
	seen := map[string]bool{}
	for _, l := range v.m.Logs {
		if _, ok := v.listed[l.File]; !ok || !strings.HasPrefix(l.File, BundleLogDir) || seen[l.File] {
			return nil, fail(BundleManifestFile, BundleInconsistent, "log %q is not a file under logs/ it lists once", l.File)
		}
		seen[l.File] = true
		names = append(names, l.File)
	}
	for _, f := range v.m.Files {
		if strings.HasPrefix(f.Name, BundleLogDir) && !seen[f.Name] {
			return nil, fail(BundleManifestFile, BundleInconsistent, "%s is not among its logs", f.Name)
		}
	}
	if len(names) == 0 {
		return nil, fail(BundleManifestFile, BundleInconsistent, "lists no log file")
	}
	return names, nil
}

// open opens a file of the zip for streaming.
func (v *bundleVerifier) open(name string) (io.ReadCloser, *BundleProblem) {
	rc, err := v.files[name].Open()
	if err != nil {
		return nil, fail(name, BundleMalformed, "cannot be read: %v", err)
	}
	return rc, nil
}

// checkLogs verifies the chain, then scans the lines for the manifest's
// counts.
func (v *bundleVerifier) checkLogs() *BundleProblem {
	names, p := v.logFiles()
	if p != nil {
		return p
	}
	srcs := make([]Source, len(names))
	for i, name := range names {
		rc, p := v.open(name)
		if p != nil {
			return p
		}
		defer rc.Close()
		srcs[i] = Source{Name: name, R: rc}
	}
	rep, err := VerifySources(v.pub, bundleVerifyOptions(v.m.Prefix), srcs...)
	if err != nil {
		return fail(names[0], BundleMalformed, "cannot be read: %v", err)
	}
	v.rep.Slice = rep
	if pr := rep.Problem; pr != nil {
		p := fail(pr.File, BundleChain, "line %d: seq %d: %s: %s", pr.Line, pr.Seq, pr.Reason, pr.Detail)
		p.Log = pr
		return p
	}
	if rep.OpenTail > 0 && !v.rep.Signed {
		return fail(names[len(names)-1], BundleChain, "%d entries after the last checkpoint, and no manifest.sig covers them", rep.OpenTail)
	}
	return v.scanLogs(names)
}

// scanLogs checks the first line and the manifest's per-file and total
// counts.
func (v *bundleVerifier) scanLogs(names []string) *BundleProblem {
	c := &cutter{since: v.m.Since, until: v.m.Until, prefix: []byte(v.m.Prefix), started: true}
	for i, name := range names {
		rc, p := v.open(name)
		if p != nil {
			return p
		}
		_, err := io.Copy(fileSink{c, i}, bufio.NewReader(rc))
		rc.Close()
		if err != nil {
			return fail(name, BundleMalformed, "cannot be read: %v", err)
		}
	}
	if len(c.kept) == 0 {
		return fail(names[0], BundleChain, "the logs hold no line")
	}
	if first := c.kept[0]; !first.checkpoint && (first.seq != 1 || !first.prevZero) {
		return fail(names[0], BundleChain, "the first line is neither a checkpoint nor the log's first line (seq 1)")
	}
	got := groupLines(make([]Source, len(names)), c.kept)
	inRange := 0
	for _, kl := range c.kept {
		if kl.ge && kl.le {
			inRange++
		}
	}
	return v.compareCounts(got, inRange)
}

// compareCounts checks what manifest.json says of the logs.
func (v *bundleVerifier) compareCounts(files []sliceFile, inRange int) *BundleProblem {
	m, r := v.m, v.rep.Slice
	if len(files) != len(m.Logs) {
		return fail(BundleManifestFile, BundleInconsistent, "lists %d log files, %d hold lines", len(m.Logs), len(files))
	}
	for i, f := range files {
		l := m.Logs[i]
		if l.Lines != f.lines || l.FirstSeq != f.firstSeq || l.LastSeq != f.lastSeq {
			return fail(BundleManifestFile, BundleInconsistent, "%s: says %d lines, seq %d..%d; it holds %d, seq %d..%d",
				l.File, l.Lines, l.FirstSeq, l.LastSeq, f.lines, f.firstSeq, f.lastSeq)
		}
	}
	if m.FirstSeq != r.FirstSeq || m.LastSeq != r.LastSeq || m.Entries != r.Entries || m.Checkpoints != r.Checkpoints ||
		m.OpenTail != r.OpenTail || m.Gaps != r.Gaps || m.UncleanStops != r.UncleanStops || m.EntriesInRange != inRange {
		return fail(BundleManifestFile, BundleInconsistent, "its seqs and counts are not those of the logs")
	}
	return nil
}

// checkVerification compares verification.json with the logs.
func (v *bundleVerifier) checkVerification() *BundleProblem {
	if _, ok := v.listed[BundleVerificationFile]; !ok {
		return fail(BundleVerificationFile, BundleMissing, "not in the bundle")
	}
	b, p := v.readSmall(BundleVerificationFile)
	if p != nil {
		return p
	}
	var got bundleVerification
	if err := json.Unmarshal(b, &got); err != nil {
		return fail(BundleVerificationFile, BundleMalformed, "not a verification report: %v", err)
	}
	m := v.m
	var files []string
	for _, l := range m.Logs {
		files = append(files, l.File)
	}
	want := newReportJSON(files, m.Prefix, v.rep.Slice)
	if !reflect.DeepEqual(got.Slice, want) || !got.Since.Equal(m.Since) || !got.Until.Equal(m.Until) ||
		got.KeyID != m.KeyID || got.EntriesInRange != m.EntriesInRange {
		return fail(BundleVerificationFile, BundleInconsistent, "its slice report is not the verification of the logs")
	}
	return nil
}
