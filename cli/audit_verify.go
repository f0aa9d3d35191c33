package cli

import (
	"crypto/ed25519"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/audit"
)

// auditVerifyCmd is `vaultctl audit verify`.
type auditVerifyCmd struct {
	app              *app
	publicKey        string
	allowOpenTail    bool
	allowPartialHead bool
	allowUncleanStop bool
	prefix           string
}

func newAuditVerifyCmd(a *app) *cobra.Command {
	c := &auditVerifyCmd{app: a}
	cmd := &cobra.Command{
		Use:   "verify [-public-key KEY] [-prefix TEXT] [-allow-open-tail] [-allow-partial-head] [-allow-unclean-stop] FILE...",
		Short: "Check the hash chain and signed checkpoints of a file audit log",
		Long: `Checks an audit log written by a file audit device, offline (no server
needed): every line's seq and prev_hash chain, and every checkpoint's
Ed25519 signature. Give the files OLDEST FIRST, in the order they were
written, e.g.

    vaultctl audit verify -public-key @audit.pub audit.log.2 audit.log.1 audit.log

The chain continues across the files; they are read in the order given.

KEY is the device's Ed25519 public key: base64 (standard or URL alphabet),
64 hex digits, a PEM "PUBLIC KEY" block, or @FILE holding one of those.
Without it checkpoint signatures are not checked, and the output says so.
-prefix gives the prefix the device writes before every line, if any.

Every start of the device begins with an open checkpoint, where seq may
jump forward (seqs reserved by another node); a cleanly closed log ends
with a close or rotate checkpoint. -allow-open-tail accepts a live log
whose last entries follow the last checkpoint. -allow-partial-head
accepts a log whose oldest files were removed (not starting at seq 1).
-allow-unclean-stop accepts a restart after a run that stopped without
its closing checkpoint (a crash or power loss: its last entries may be
lost).

Prints "OK: N entries, C checkpoints (signed by KEY-ID), seq A..B" and exits
0, or "FAIL: FILE:LINE: seq N: REASON: DETAIL" for the first bad line and
exits 1; REASON is edited, dropped, reordered, truncated, duplicated or
unsigned ("seq ?" when the line has no readable seq). -format=json prints
the report as JSON instead. A usage error exits 2.`,
		Args: minArgs(1),
		RunE: c.run,
	}
	f := cmd.Flags()
	f.StringVar(&c.publicKey, "public-key", "", "the device's Ed25519 public key (base64, hex, PEM or @file)")
	f.BoolVar(&c.allowOpenTail, "allow-open-tail", false, "accept entries after the last checkpoint (a live log)")
	f.BoolVar(&c.allowPartialHead, "allow-partial-head", false, "accept a log not starting at seq 1 (oldest files removed)")
	f.BoolVar(&c.allowUncleanStop, "allow-unclean-stop", false, "accept restarts after a run that stopped without a closing checkpoint")
	f.StringVar(&c.prefix, "prefix", "", "the prefix the device writes before every line")
	return cmd
}

func (c *auditVerifyCmd) run(_ *cobra.Command, files []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	var pub ed25519.PublicKey
	if c.publicKey != "" {
		if pub, err = parsePublicKey(c.publicKey); err != nil {
			return err
		}
	}
	rep, err := c.verify(pub, files)
	if err != nil {
		return err
	}
	if err := p.print(verifyDocument(pub, rep)); err != nil {
		return err
	}
	if !rep.OK {
		return &exitError{code: ExitError}
	}
	return nil
}

// verify opens the files, oldest first, and checks them as one log.
func (c *auditVerifyCmd) verify(pub ed25519.PublicKey, files []string) (audit.Report, error) {
	srcs := make([]audit.Source, 0, len(files))
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return audit.Report{}, fmt.Errorf("opening audit log: %w", err)
		}
		defer f.Close()
		srcs = append(srcs, audit.Source{Name: name, R: f})
	}
	opts := audit.VerifyOptions{AllowOpenTail: c.allowOpenTail, AllowPartialHead: c.allowPartialHead,
		AllowUncleanStop: c.allowUncleanStop, Prefix: c.prefix}
	rep, err := audit.VerifySources(pub, opts, srcs...)
	if err != nil {
		return audit.Report{}, fmt.Errorf("verifying audit log: %w", err)
	}
	return rep, nil
}

// verifyReport is the JSON and YAML rendering of an audit.Report.
type verifyReport struct {
	OK bool `json:"ok"`
	// KeyID names the public key checkpoints were checked with ("" when
	// none was given).
	KeyID       string         `json:"key_id"`
	Entries     int            `json:"entries"`
	Checkpoints int            `json:"checkpoints"`
	Unchecked   int            `json:"unchecked_checkpoints"`
	FirstSeq    uint64         `json:"first_seq"`
	LastSeq     uint64         `json:"last_seq"`
	OpenTail    int            `json:"open_tail"`
	Segments    int            `json:"segments"`
	Gaps        int            `json:"gaps"`
	Unclean     int            `json:"unclean_stops"`
	Problem     *verifyProblem `json:"problem"`
}

// verifyProblem is the JSON rendering of an audit.Problem.
type verifyProblem struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Seq    uint64 `json:"seq"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// verifyDocument renders a report: one OK or FAIL line, or the report.
func verifyDocument(pub ed25519.PublicKey, rep audit.Report) document {
	v := verifyReport{OK: rep.OK, Entries: rep.Entries, Checkpoints: rep.Checkpoints, Unchecked: rep.Unchecked,
		FirstSeq: rep.FirstSeq, LastSeq: rep.LastSeq, OpenTail: rep.OpenTail,
		Segments: rep.Segments, Gaps: rep.Gaps, Unclean: rep.UncleanStops}
	if pub != nil {
		v.KeyID = audit.KeyID(pub)
	}
	if pr := rep.Problem; pr != nil {
		v.Problem = &verifyProblem{File: pr.File, Line: pr.Line, Seq: pr.Seq, Reason: string(pr.Reason), Detail: pr.Detail}
	}
	return document{Value: v, Sections: []section{{Text: []string{verifyLine(v)}}}}
}

// verifyLine is the text output of a verification.
func verifyLine(v verifyReport) string {
	if pr := v.Problem; pr != nil {
		seq := "?"
		if pr.Seq != 0 {
			seq = fmt.Sprint(pr.Seq)
		}
		return fmt.Sprintf("FAIL: %s:%d: seq %s: %s: %s", pr.File, pr.Line, seq, pr.Reason, pr.Detail)
	}
	var s string
	if v.KeyID != "" {
		s = fmt.Sprintf("OK: %d entries, %d checkpoints (signed by %s)", v.Entries, v.Checkpoints, v.KeyID)
	} else {
		s = fmt.Sprintf("OK: %d entries, %d checkpoints (signatures NOT checked: no -public-key)", v.Entries, v.Unchecked)
	}
	s += fmt.Sprintf(", seq %d..%d", v.FirstSeq, v.LastSeq)
	if v.OpenTail > 0 {
		s += fmt.Sprintf(", %d entries after the last checkpoint", v.OpenTail)
	}
	if v.Unclean > 0 {
		s += fmt.Sprintf(", %d restarts after an unclean stop", v.Unclean)
	}
	return s
}
