package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/client"
)

// auditExportCmd is `vaultctl audit export`.
type auditExportCmd struct {
	app          *app
	since, until string
	out          string
	device       string
	publicKeyOut string
}

func newAuditExportCmd(a *app) *cobra.Command {
	c := &auditExportCmd{app: a}
	cmd := &cobra.Command{
		Use:   "export -since=T [-until=T] -out=ZIP [-device=PATH] [-public-key-out=FILE] FILE...",
		Short: "Export an evidence bundle of a time range of a file audit log",
		Long: `Writes an evidence bundle to ZIP, for an auditor to check offline with
"vaultctl audit verify-bundle", or by hand as its README.txt says. FILE...
are the device's log files, OLDEST FIRST (audit.log.1, then audit.log),
read on this machine; the server gives the device's public key and line
prefix (its "prefix" option), the policies in force, and signs the
bundle's manifest with the device key.

The bundle holds:

  logs/              the lines of the range, from the checkpoint before it
                     to the first checkpoint after it, so every line is signed
  keys/DEVICE.pem    the device's public key
  verification.json  the verification of the whole log read, and of logs/
  policies/          the Cedar and ACL policies (and key rotation policies,
                     when the server has some)
  controls.md        the SOC 2 and ISO/IEC 27001 controls the evidence serves
  README.txt         how to check the bundle by hand
  manifest.json, SHA256SUMS, manifest.sig
                     the SHA-256 of every file, signed by the device key

T is an RFC 3339 time (2026-12-01T09:00:00Z) or a duration before now (24h,
90m, 7d); -until defaults to now. A problem in the log outside the range is
reported on stderr and in verification.json; within the range, it stops the
export. -public-key-out also writes the device's key (PEM) to FILE, to hand
to the auditor through a channel of its own.`,
		Args: minArgs(1),
		RunE: c.run,
	}
	f := cmd.Flags()
	f.StringVar(&c.since, "since", "", "start of the range: RFC 3339 time or duration before now (required)")
	f.StringVar(&c.until, "until", "", "end of the range: RFC 3339 time or duration before now (default now)")
	f.StringVar(&c.out, "out", "", "the bundle file to write (required)")
	f.StringVar(&c.device, "device", "file/", "path of the audit device that wrote the log")
	f.StringVar(&c.publicKeyOut, "public-key-out", "", "also write the device's public key (PEM) to this file")
	return cmd
}

func (c *auditExportCmd) run(cmd *cobra.Command, files []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	since, until, device, err := c.check(time.Now())
	if err != nil {
		return err
	}
	logs, err := openLogs(files)
	if err != nil {
		return err
	}
	defer closeLogs(logs)
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	in, err := c.input(cmd.Context(), cl, since, until, device)
	if err != nil {
		return err
	}
	in.Logs = logs
	m, err := writeBundleFile(cmd.Context(), c.out, in)
	if err != nil {
		return err
	}
	if c.publicKeyOut != "" {
		if err := os.WriteFile(c.publicKeyOut, in.PublicKeyPEM, 0o644); err != nil {
			return fmt.Errorf("writing the public key: %w", err)
		}
	}
	if m.UncleanStops > 0 {
		fmt.Fprintf(c.app.stderr, "Warning: the device stopped uncleanly %d time(s) within the exported lines: the entries it wrote last before may be lost\n", m.UncleanStops)
	}
	if pr := m.Log.Problem; pr != nil {
		fmt.Fprintf(c.app.stderr, "Warning: the log does not verify outside the exported range: %s:%d: seq %d: %s: %s (see verification.json)\n",
			pr.File, pr.Line, pr.Seq, pr.Reason, pr.Detail)
	}
	return p.print(exportDocument(c.out, m))
}

// check reads the flags.
func (c *auditExportCmd) check(now time.Time) (since, until time.Time, device string, err error) {
	if c.since == "" {
		return since, until, "", usagef("-since is required")
	}
	if since, err = parseWhen("since", c.since, now); err != nil {
		return since, until, "", err
	}
	until = now
	if c.until != "" {
		if until, err = parseWhen("until", c.until, now); err != nil {
			return since, until, "", err
		}
	}
	if until.Before(since) {
		return since, until, "", usagef("-until %s is before -since %s", until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	if c.out == "" {
		return since, until, "", usagef("-out is required")
	}
	device = strings.Trim(c.device, "/")
	if device == "" || checkSegments(device) != nil {
		return since, until, "", usagef("invalid -device %q", c.device)
	}
	return since, until, device, nil
}

// parseWhen reads an RFC 3339 time, or a duration before now.
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := client.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, usagef("-%s %q: want an RFC 3339 time (2026-12-01T09:00:00Z) or a duration before now (24h, 7d)", flag, s)
	}
	return now.Add(-d), nil
}

// input fetches from the server what the bundle needs besides the logs:
// the device's key, the policies and the manifest signer.
func (c *auditExportCmd) input(ctx context.Context, cl *client.Client, since, until time.Time, device string) (audit.BundleInput, error) {
	devices, err := cl.Sys().ListAudit(ctx)
	if err != nil {
		return audit.BundleInput{}, fmt.Errorf("listing audit devices: %w", err)
	}
	d, ok := devices[device+"/"]
	if !ok {
		return audit.BundleInput{}, fmt.Errorf("no audit device is enabled at %s/", device)
	}
	k, err := cl.Sys().AuditPublicKey(ctx, device)
	if err != nil {
		return audit.BundleInput{}, fmt.Errorf("reading the public key of audit device %s: %w", device, err)
	}
	pub, err := k.Ed25519()
	if err != nil {
		return audit.BundleInput{}, fmt.Errorf("audit device %s: %w", device, err)
	}
	if id := audit.KeyID(pub); id != k.KeyID {
		return audit.BundleInput{}, fmt.Errorf("audit device %s: the server names its key %s, the key's id is %s", device, k.KeyID, id)
	}
	policies, err := exportPolicies(ctx, cl, c.app.stderr)
	if err != nil {
		return audit.BundleInput{}, err
	}
	return audit.BundleInput{Since: since, Until: until, Device: device + "/", Prefix: d.Options["prefix"], PublicKeyPEM: []byte(k.PublicKey),
		Policies: policies, Sign: manifestSigner(cl.Sys(), device, pub)}, nil
}

// manifestSigner has the device sign the manifest and checks the answer.
func manifestSigner(sys *client.Sys, device string, pub ed25519.PublicKey) func(context.Context, [sha256.Size]byte) ([]byte, error) {
	return func(ctx context.Context, sum [sha256.Size]byte) ([]byte, error) {
		s, err := sys.SignAuditManifest(ctx, device, sum)
		if err != nil {
			return nil, err
		}
		if s.KeyID != audit.KeyID(pub) {
			return nil, fmt.Errorf("the server signed with key %s, not the device key %s", s.KeyID, audit.KeyID(pub))
		}
		return s.Signature, nil
	}
}

// openLogs opens the log files, oldest first; their base names, the
// names in the bundle, must differ.
func openLogs(files []string) ([]audit.Source, error) {
	seen := map[string]string{}
	for _, name := range files {
		if other, dup := seen[filepath.Base(name)]; dup {
			return nil, usagef("%s and %s have the same name: the bundle names its logs by file name", other, name)
		}
		seen[filepath.Base(name)] = name
	}
	var logs []audit.Source
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			closeLogs(logs)
			return nil, fmt.Errorf("opening audit log: %w", err)
		}
		logs = append(logs, audit.Source{Name: name, R: f})
	}
	return logs, nil
}

func closeLogs(logs []audit.Source) {
	for _, l := range logs {
		l.R.(*os.File).Close()
	}
}

// writeBundleFile writes the bundle to a temporary file beside out, then
// renames it: out appears whole or not at all.
func writeBundleFile(ctx context.Context, out string, in audit.BundleInput) (*audit.BundleManifest, error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".vaultctl-bundle-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("writing the bundle: %w", err)
	}
	m, err := audit.WriteBundle(ctx, tmp, in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		os.Remove(tmp.Name())
		if errors.Is(err, audit.ErrNoAnchor) || errors.Is(err, audit.ErrSliceInvalid) || errors.Is(err, audit.ErrUnsignedTail) {
			return nil, fmt.Errorf("exporting: %w", err)
		}
		return nil, fmt.Errorf("writing the bundle %s: %w", out, err)
	}
	return m, nil
}

// exportReport is the JSON and YAML rendering of an export.
type exportReport struct {
	File     string                `json:"file"`
	Manifest *audit.BundleManifest `json:"manifest"`
	// LogOK and LogProblem are the verification of the whole log read.
	LogOK      bool           `json:"log_ok"`
	LogProblem *audit.Problem `json:"log_problem"`
}

// exportDocument renders the export's result.
func exportDocument(file string, m *audit.BundleManifest) document {
	files := len(m.Files) + 2
	signed := "NOT signed"
	if m.Signed {
		files++
		signed = fmt.Sprintf("signed by %s (key %s)", m.Device, m.KeyID)
	}
	line := fmt.Sprintf("Success! Wrote %s: seq %d..%d, %d entries (%d in the range), %d checkpoints", file,
		m.FirstSeq, m.LastSeq, m.Entries, m.EntriesInRange, m.Checkpoints)
	if m.OpenTail > 0 {
		line += fmt.Sprintf(" (%d entries after the last checkpoint: a live log)", m.OpenTail)
	}
	line += fmt.Sprintf(", %d files; manifest %s", files, signed)
	v := exportReport{File: file, Manifest: m, LogOK: m.Log.OK, LogProblem: m.Log.Problem}
	return document{Value: v, Sections: []section{{Text: []string{line}}}}
}
