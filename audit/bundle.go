package audit

import (
	"archive/zip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	_ "embed" // controls.md
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// BundleVersion is the version of the bundle format in manifest.json.
const BundleVersion = 1

// The fixed files of a bundle; the log files are under BundleLogDir, the
// public key under BundleKeyDir.
const (
	BundleManifestFile     = "manifest.json"
	BundleSumsFile         = "SHA256SUMS"
	BundleSignatureFile    = "manifest.sig"
	BundleVerificationFile = "verification.json"
	BundleControlsFile     = "controls.md"
	BundleReadmeFile       = "README.txt"
	BundleLogDir           = "logs/"
	BundleKeyDir           = "keys/"
)

// manifestDomain starts every manifest signature's message, so that it
// can never be taken for a checkpoint (whose signed message is a JSON
// object, starting with '{'), nor a checkpoint signature for it.
const manifestDomain = "secretum-audit-bundle-manifest-v1\n"

// ManifestMessage is the message manifest.sig signs with the device's
// Ed25519 key: "secretum-audit-bundle-manifest-v1\n" followed by the 64
// lowercase hex digits of the SHA-256 of manifest.json, without a final
// newline. It holds no '{', which every checkpoint's signed message (a
// JSON object after the optional prefix) holds: a manifest signature is
// never a checkpoint signature, nor the reverse.
func ManifestMessage(manifestSHA256 [sha256.Size]byte) []byte {
	msg := make([]byte, 0, len(manifestDomain)+2*sha256.Size)
	msg = append(msg, manifestDomain...)
	return hex.AppendEncode(msg, manifestSHA256[:])
}

//go:embed controls.md
var controlsDoc []byte

// Errors of WriteBundle (its input errors match logical.ErrInvalidRequest).
var (
	// ErrNoAnchor: no checkpoint comes before the range, and the log given
	// does not start at seq 1, so the first exported line would be signed
	// by nothing before it. Give the older (rotated) files too.
	ErrNoAnchor = errors.New("audit: bundle: no checkpoint precedes the range and the log does not start at seq 1 (give the older files too)")
	// ErrSliceInvalid: the lines of the range do not verify as a chain
	// signed by the device key.
	ErrSliceInvalid = errors.New("audit: bundle: the lines of the range do not verify")
	// ErrUnsignedTail: the range runs past the log's last checkpoint (a
	// live log) and no Sign was given: nothing would sign those entries.
	ErrUnsignedTail = errors.New("audit: bundle: the range runs past the log's last checkpoint and the bundle is unsigned")
)

// BundleInput is what WriteBundle exports.
type BundleInput struct {
	// Since and Until bound the range (inclusive), compared with each
	// entry's "time" field.
	Since, Until time.Time
	// Logs are the device's log files, oldest first (audit.log.1, then
	// audit.log); they are read once, to their end.
	Logs []Source
	// Device is the audit device's path, e.g. "file/".
	Device string
	// Prefix is the device's line prefix (Options.Prefix; "" for none).
	Prefix string
	// PublicKeyPEM is the device's Ed25519 public key, a PEM "PUBLIC KEY"
	// block (PKIX).
	PublicKeyPEM []byte
	// Policies maps a bundle file name (e.g. "policies/cedar/admins.cedar")
	// to its content.
	Policies map[string][]byte
	// Sign signs ManifestMessage(manifestSHA256) with the device key; nil
	// writes an unsigned bundle.
	Sign func(ctx context.Context, manifestSHA256 [sha256.Size]byte) (sig []byte, err error)
	// Now is the clock of the manifest's created time (default time.Now).
	Now func() time.Time
}

// Validate checks the input; its errors name the field and match
// logical.ErrInvalidRequest.
func (in *BundleInput) Validate() error {
	switch {
	case in.Since.IsZero() || in.Until.IsZero():
		return badInput("since and until are required")
	case in.Until.Before(in.Since):
		return badInput("until is before since")
	case len(in.Logs) == 0:
		return badInput("logs: no log file given")
	case deviceFileName(in.Device) == "":
		return badInput("device is required")
	case strings.ContainsAny(in.Prefix, "\n\r"):
		return badInput("prefix holds a line break")
	}
	if _, err := parseBundleKey(in.PublicKeyPEM); err != nil {
		return badInput("public_key_pem: %v", err)
	}
	seen := map[string]bool{}
	for _, s := range in.Logs {
		name := logFileName(s.Name)
		if seen[name] {
			return badInput("logs: two files would be named %s", name)
		}
		seen[name] = true
	}
	for name := range in.Policies {
		if err := checkBundleName(name); err != nil {
			return badInput("policies: %v", err)
		}
		if isReserved(name) {
			return badInput("policies: %q is a reserved bundle file name", name)
		}
	}
	return nil
}

func badInput(format string, a ...any) error {
	return fmt.Errorf("%w: audit: bundle: "+format, append([]any{logical.ErrInvalidRequest}, a...)...)
}

// BundleManifest is manifest.json.
type BundleManifest struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	// Since and Until are the range asked for.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Device is the audit device's path, Prefix its line prefix; KeyID and
	// KeyFile its public key.
	Device  string `json:"device"`
	Prefix  string `json:"prefix,omitempty"`
	KeyID   string `json:"key_id"`
	KeyFile string `json:"key_file"`
	// Signed says manifest.sig was written.
	Signed bool `json:"signed"`
	// Logs are the log files of the bundle, oldest first.
	Logs []BundleLog `json:"logs"`
	// FirstSeq and LastSeq bound the exported lines; Entries counts their
	// requests and responses, Checkpoints their checkpoints, EntriesInRange
	// the entries whose time is within [Since, Until], OpenTail the
	// entries after the last checkpoint (a live log's, covered by
	// manifest.sig only), Gaps the forward seq jumps at open checkpoints
	// and UncleanStops the device starts after a run that stopped without
	// a closing checkpoint (its last entries may be lost).
	FirstSeq       uint64 `json:"first_seq"`
	LastSeq        uint64 `json:"last_seq"`
	Entries        int    `json:"entries"`
	Checkpoints    int    `json:"checkpoints"`
	EntriesInRange int    `json:"entries_in_range"`
	OpenTail       int    `json:"open_tail"`
	Gaps           int    `json:"gaps"`
	UncleanStops   int    `json:"unclean_stops"`
	// Files lists every file of the bundle but manifest.json, SHA256SUMS
	// and manifest.sig.
	Files []BundleFile `json:"files"`
	// Log is the verification of the whole log given to WriteBundle (also
	// in verification.json; not part of manifest.json).
	Log Report `json:"-"`
}

// BundleLog is one log file of a bundle.
type BundleLog struct {
	// File is its name in the bundle (logs/...), Source the name of the
	// file it was cut from.
	File   string `json:"file"`
	Source string `json:"source"`
	Lines  int    `json:"lines"`
	// FirstSeq and LastSeq are the seqs of its first and last lines.
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
}

// BundleFile is one file of a bundle with its size and hex SHA-256.
type BundleFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// WriteBundle writes the evidence bundle of in to w and returns its
// manifest. A bundle is a zip an auditor checks offline (VerifyBundle, or
// by hand as its README.txt says): logs/ (the lines of the range), keys/
// (the device's public key), verification.json, the policies,
// controls.md (the SOC 2 and ISO/IEC 27001 controls the evidence
// serves), README.txt, manifest.json (the SHA-256 and size of every other
// file but SHA256SUMS and manifest.sig), SHA256SUMS (sha256sum's format,
// manifest.json included) and, when in.Sign is set, manifest.sig (base64
// Ed25519 over ManifestMessage of manifest.json's SHA-256).
//
// The exported lines run from the anchor, the last checkpoint before the
// first entry whose time is at or after Since (or the log's first line,
// which must then be seq 1), through the first checkpoint at or after the
// last entry whose time is at or before Until (or the end of the log):
// every line is covered by a checkpoint signature, and the anchor's
// signature commits to everything before it. Lines are held in memory
// from the anchor to the end of the log.
//
// Both the whole log and the exported lines are verified with
// AllowOpenTail, AllowPartialHead and AllowUncleanStop (the counts are in
// the manifest and verification.json; the whole log's report also in
// BundleManifest.Log): a problem in the whole log does not stop the
// export, a problem within the exported lines does (ErrSliceInvalid).
func WriteBundle(ctx context.Context, w io.Writer, in BundleInput) (*BundleManifest, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	pub, _ := parseBundleKey(in.PublicKeyPEM)
	sl, err := cutLog(ctx, pub, &in)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	b := &bundleWriter{in: &in, pub: pub, slice: sl, created: now().UTC().Truncate(time.Second)}
	files, m, err := b.files(ctx)
	if err != nil {
		return nil, err
	}
	if err := writeZip(w, files, b.created); err != nil {
		return nil, fmt.Errorf("audit: bundle: write zip: %w", err)
	}
	return m, nil
}

// bundleWriter assembles the files of one bundle.
type bundleWriter struct {
	in      *BundleInput
	pub     ed25519.PublicKey
	slice   *logSlice
	created time.Time
}

// zipFile is one file of a bundle, in memory.
type zipFile struct {
	name string
	data []byte
}

// files returns the bundle's files in zip order and its manifest.
func (b *bundleWriter) files(ctx context.Context) ([]zipFile, *BundleManifest, error) {
	m := b.manifest()
	var files []zipFile
	for i, lf := range b.slice.files {
		files = append(files, zipFile{m.Logs[i].File, lf.data})
	}
	files = append(files, zipFile{m.KeyFile, b.in.PublicKeyPEM})
	for _, name := range sortedNames(b.in.Policies) {
		files = append(files, zipFile{name, b.in.Policies[name]})
	}
	ver, err := marshalIndent(b.verification(m))
	if err != nil {
		return nil, nil, err
	}
	files = append(files, zipFile{BundleVerificationFile, ver},
		zipFile{BundleControlsFile, controlsDoc}, zipFile{BundleReadmeFile, readme(m)})
	for _, f := range files {
		m.Files = append(m.Files, BundleFile{Name: f.name, SHA256: sha256Hex(f.data), Size: int64(len(f.data))})
	}
	mj, err := marshalIndent(m)
	if err != nil {
		return nil, nil, err
	}
	files = append(files, zipFile{BundleManifestFile, mj}, zipFile{BundleSumsFile, sha256Sums(m.Files, mj)})
	if b.in.Sign != nil {
		sig, err := b.sign(ctx, mj)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, zipFile{BundleSignatureFile, sig})
	}
	return files, m, nil
}

// manifest returns the manifest without its file list.
func (b *bundleWriter) manifest() *BundleManifest {
	s := b.slice
	m := &BundleManifest{
		Version: BundleVersion, Created: b.created, Since: b.in.Since.UTC(), Until: b.in.Until.UTC(),
		Device: b.in.Device, Prefix: b.in.Prefix, KeyID: KeyID(b.pub), KeyFile: BundleKeyDir + deviceFileName(b.in.Device) + ".pem",
		Signed: b.in.Sign != nil, FirstSeq: s.report.FirstSeq, LastSeq: s.report.LastSeq,
		Entries: s.report.Entries, Checkpoints: s.report.Checkpoints, EntriesInRange: s.inRange,
		OpenTail: s.report.OpenTail, Gaps: s.report.Gaps, UncleanStops: s.report.UncleanStops, Log: s.whole,
	}
	for _, lf := range s.files {
		m.Logs = append(m.Logs, BundleLog{File: logFileName(lf.source), Source: lf.source,
			Lines: lf.lines, FirstSeq: lf.firstSeq, LastSeq: lf.lastSeq})
	}
	return m
}

// sign has the manifest signed and checks the signature with the
// device's key before it goes into the bundle.
func (b *bundleWriter) sign(ctx context.Context, manifestJSON []byte) ([]byte, error) {
	sum := sha256.Sum256(manifestJSON)
	sig, err := b.in.Sign(ctx, sum)
	if err != nil {
		return nil, fmt.Errorf("audit: bundle: sign manifest: %w", err)
	}
	if !ed25519.Verify(b.pub, ManifestMessage(sum), sig) {
		return nil, fmt.Errorf("audit: bundle: the manifest signature does not verify with the device key %s", KeyID(b.pub))
	}
	return encodeSignature(sig), nil
}

// deviceFileName turns a device path ("file/", "audit/prod/") into a file
// name ("file", "audit-prod"); "" for an empty path. See safeName.
func deviceFileName(device string) string {
	return safeName(strings.ReplaceAll(strings.Trim(device, "/"), "/", "-"))
}

// logFileName is the bundle name of a log file: logs/ and its base name
// (see safeName).
func logFileName(source string) string {
	return BundleLogDir + safeName(filepath.Base(source))
}

// safeName maps every byte of name but ASCII letters, digits, '.', '_'
// and '-' to '_', so that the names README.txt puts in shell commands
// need no quoting; "", "." and ".." are "".
func safeName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if s := string(b); s != "." && s != ".." {
		return s
	}
	return ""
}

// checkBundleName accepts a clean relative slash path (no "..", "." or
// empty segment) without backslashes or control characters, which
// sha256sum would escape.
func checkBundleName(name string) error {
	if name == "" || path.Clean(name) != name || !filepath.IsLocal(name) {
		return fmt.Errorf("file name %q is not a clean relative path", name)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) {
		return fmt.Errorf("file name %q holds a backslash or a control character", name)
	}
	return nil
}

// isReserved reports whether name is taken by the bundle itself.
func isReserved(name string) bool {
	switch name {
	case BundleManifestFile, BundleSumsFile, BundleSignatureFile, BundleVerificationFile, BundleControlsFile, BundleReadmeFile:
		return true
	}
	return strings.HasPrefix(name, BundleLogDir) || strings.HasPrefix(name, BundleKeyDir)
}

// parseBundleKey reads a PEM "PUBLIC KEY" block holding an Ed25519 key.
func parseBundleKey(b []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM \"PUBLIC KEY\" block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("malformed public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", k)
	}
	return pub, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sha256Sums renders SHA256SUMS as sha256sum writes it: the files, then
// manifest.json.
func sha256Sums(files []BundleFile, manifestJSON []byte) []byte {
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "%s  %s\n", f.SHA256, f.Name)
	}
	fmt.Fprintf(&b, "%s  %s\n", sha256Hex(manifestJSON), BundleManifestFile)
	return []byte(b.String())
}

// encodeSignature is the content of manifest.sig: standard base64 and a
// newline.
func encodeSignature(sig []byte) []byte {
	return append(base64.StdEncoding.AppendEncode(nil, sig), '\n')
}

// marshalIndent is the JSON of a bundle file, indented, with a final
// newline.
func marshalIndent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("audit: bundle: encode: %w", err)
	}
	return append(b, '\n'), nil
}

// writeZip writes the files, deflated, all dated modified.
func writeZip(w io.Writer, files []zipFile, modified time.Time) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: modified})
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	return zw.Close()
}

func sortedNames(m map[string][]byte) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
