package cli

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/audit"
)

// auditVerifyBundleCmd is `vaultctl audit verify-bundle`.
type auditVerifyBundleCmd struct {
	app       *app
	publicKey string
}

func newAuditVerifyBundleCmd(a *app) *cobra.Command {
	c := &auditVerifyBundleCmd{app: a}
	cmd := &cobra.Command{
		Use:   "verify-bundle [-public-key KEY] BUNDLE.zip",
		Short: "Check an audit evidence bundle (offline)",
		Long: `Checks an evidence bundle written by "vaultctl audit export", offline (no
server needed):

  - every file is listed in manifest.json with its SHA-256 and size, and
    the bundle holds no other file;
  - SHA256SUMS lists the same SHA-256s, and manifest.json's;
  - manifest.sig verifies with the bundle's key over manifest.json;
  - the log lines verify as one hash chain, their checkpoints signed by
    the bundle's key, the first line a checkpoint (or the log's first);
  - manifest.json and verification.json agree with the log lines;
  - with -public-key, the bundle's key is KEY.

KEY is the key you trust for the device ("vaultctl audit public-key" prints
it; get it from its operator through a channel of its own): base64, 64 hex
digits, a PEM "PUBLIC KEY" block, or @FILE holding one of those. Without
it, a bundle re-signed throughout by another key would pass, and the output
says the key was not checked.

Prints "OK: ..." and exits 0, or "FAIL: BUNDLE: FILE: REASON: DETAIL" for the
first failure and exits 1; REASON is modified, missing, unlisted, malformed,
signature, key, chain or inconsistent. -format=json prints the report as
JSON instead. A usage error exits 2.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	cmd.Flags().StringVar(&c.publicKey, "public-key", "", "the device's Ed25519 public key you trust (base64, hex, PEM or @file)")
	return cmd
}

func (c *auditVerifyBundleCmd) run(_ *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	var pin ed25519.PublicKey
	if c.publicKey != "" {
		if pin, err = parsePublicKey(c.publicKey); err != nil {
			return err
		}
	}
	rep, err := verifyBundleFile(args[0], pin)
	if err != nil {
		return err
	}
	if err := p.print(bundleDocument(args[0], rep)); err != nil {
		return err
	}
	if !rep.OK {
		return &exitError{code: ExitError}
	}
	return nil
}

func verifyBundleFile(name string, pin ed25519.PublicKey) (*audit.BundleReport, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("opening bundle: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening bundle: %w", err)
	}
	rep, err := audit.VerifyBundle(f, st.Size(), pin)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", name, err)
	}
	return rep, nil
}

// bundleReport is the JSON and YAML rendering of an audit.BundleReport.
type bundleReport struct {
	OK     bool   `json:"ok"`
	Bundle string `json:"bundle"`
	KeyID  string `json:"key_id"`
	Signed bool   `json:"signed"`
	// Pinned: the key is the -public-key given.
	Pinned         bool           `json:"pinned"`
	Device         string         `json:"device,omitempty"`
	Since          *time.Time     `json:"since,omitempty"`
	Until          *time.Time     `json:"until,omitempty"`
	FirstSeq       uint64         `json:"first_seq"`
	LastSeq        uint64         `json:"last_seq"`
	Entries        int            `json:"entries"`
	EntriesInRange int            `json:"entries_in_range"`
	Checkpoints    int            `json:"checkpoints"`
	OpenTail       int            `json:"open_tail"`
	Gaps           int            `json:"gaps"`
	UncleanStops   int            `json:"unclean_stops"`
	Problem        *bundleProblem `json:"problem"`
}

// bundleProblem is the JSON rendering of an audit.BundleProblem.
type bundleProblem struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// bundleDocument renders a report: one OK or FAIL line, or the report.
func bundleDocument(name string, rep *audit.BundleReport) document {
	v := bundleReport{OK: rep.OK, Bundle: name, KeyID: rep.KeyID, Signed: rep.Signed, Pinned: rep.Pinned,
		FirstSeq: rep.Slice.FirstSeq, LastSeq: rep.Slice.LastSeq, Entries: rep.Slice.Entries,
		Checkpoints: rep.Slice.Checkpoints, OpenTail: rep.Slice.OpenTail, Gaps: rep.Slice.Gaps, UncleanStops: rep.Slice.UncleanStops}
	if m := rep.Manifest; m != nil {
		v.Device, v.Since, v.Until, v.EntriesInRange = m.Device, &m.Since, &m.Until, m.EntriesInRange
	}
	if pr := rep.Problem; pr != nil {
		v.Problem = &bundleProblem{File: pr.File, Reason: string(pr.Reason), Detail: pr.Detail}
	}
	return document{Value: v, Sections: []section{{Text: []string{bundleLine(v)}}}}
}

// bundleLine is the text output of a bundle verification.
func bundleLine(v bundleReport) string {
	if pr := v.Problem; pr != nil {
		return fmt.Sprintf("FAIL: %s: %s: %s: %s", v.Bundle, pr.File, pr.Reason, pr.Detail)
	}
	s := fmt.Sprintf("OK: %s: %s %s..%s: seq %d..%d, %d entries (%d in the range), %d checkpoints", v.Bundle, v.Device,
		v.Since.Format(time.RFC3339Nano), v.Until.Format(time.RFC3339Nano), v.FirstSeq, v.LastSeq, v.Entries, v.EntriesInRange, v.Checkpoints)
	if v.OpenTail > 0 {
		s += fmt.Sprintf(", %d entries after the last checkpoint", v.OpenTail)
	}
	if v.Gaps > 0 {
		s += fmt.Sprintf(", %d seq jumps at device starts", v.Gaps)
	}
	if v.UncleanStops > 0 {
		s += fmt.Sprintf(", %d unclean stops (entries may be lost before them)", v.UncleanStops)
	}
	by := "manifest signed by"
	if !v.Signed {
		by = "manifest NOT signed; checkpoints signed by"
	}
	trust := "the trusted key"
	if !v.Pinned {
		trust = "NOT checked against a trusted key (no -public-key)"
	}
	return s + fmt.Sprintf("; %s key %s, %s", by, v.KeyID, trust)
}
