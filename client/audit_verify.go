package client

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"

	"github.com/secretumvault/secretumvault/audit"
)

// Audit groups the audit helpers: the devices' endpoints (on Sys) and
// the offline verification of their logs.
type Audit struct{ c *Client }

// Audit returns the audit helpers.
func (c *Client) Audit() *Audit { return &Audit{c: c} }

// Verify checks the hash chain and checkpoint signatures of the audit log
// made of the files at paths, oldest first (audit.log.1, then audit.log),
// offline: nothing is sent to the server. pub is the device's public key
// (Sys.AuditPublicKey, then AuditPublicKey.Ed25519); nil skips the
// signatures. A tampered log is a Report with a Problem, not an error;
// the error is an I/O failure. See audit.Verify.
func (a *Audit) Verify(ctx context.Context, pub ed25519.PublicKey, paths ...string) (audit.Report, error) {
	return a.VerifyWith(ctx, pub, audit.VerifyOptions{}, paths...)
}

// VerifyWith is Verify with the relaxations of opts (a live log's open
// tail, rotated files removed, unclean stops).
func (a *Audit) VerifyWith(ctx context.Context, pub ed25519.PublicKey, opts audit.VerifyOptions, paths ...string) (audit.Report, error) {
	if err := ctx.Err(); err != nil {
		return audit.Report{}, err
	}
	if len(paths) == 0 {
		return audit.Report{}, invalidArg("audit verify needs at least one file")
	}
	srcs := make([]audit.Source, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return audit.Report{}, fmt.Errorf("audit verify: %w", err)
		}
		defer f.Close()
		srcs = append(srcs, audit.Source{Name: p, R: f})
	}
	return audit.VerifySources(pub, opts, srcs...)
}

// VerifyDevice is Verify with the public key of the device at path, read
// from the server (Sys.AuditPublicKey): the log files are checked
// locally.
func (a *Audit) VerifyDevice(ctx context.Context, device string, opts audit.VerifyOptions, paths ...string) (audit.Report, error) {
	k, err := a.c.Sys().AuditPublicKey(ctx, device)
	if err != nil {
		return audit.Report{}, err
	}
	pub, err := k.Ed25519()
	if err != nil {
		return audit.Report{}, err
	}
	return a.VerifyWith(ctx, pub, opts, paths...)
}
