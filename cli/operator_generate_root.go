package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// defaultOTPLength is the OTP length when the server does not say: that
// of a root token, prefix included (Vault's TokenLength+TokenPrefixLength).
const defaultOTPLength = 36

// generateRootCmd is `vaultctl operator generate-root`.
type generateRootCmd struct {
	app *app

	init          bool
	cancel        bool
	status        bool
	decode        string
	generateOTP   bool
	otp           string
	nonce         string
	pgpKey        string // refused: no PGP-encrypted tokens
	recoveryToken bool   // refused: no recovery keys
}

func newOperatorGenerateRootCmd(a *app) *cobra.Command {
	c := &generateRootCmd{app: a}
	cmd := &cobra.Command{
		Use:   "generate-root [options] [KEY]",
		Short: "Generate a new root token from a quorum of unseal keys",
		Long: `Generates a new root token by combining a threshold of unseal keys. The
token is returned XORed with a one-time password (OTP) that only the
initiator holds; -decode with -otp turns it into the token.

  Start, with a server-generated OTP (shown once, keep it):
      $ vaultctl operator generate-root -init
  or with your own (of the server's OTP length):
      $ vaultctl operator generate-root -generate-otp
      $ vaultctl operator generate-root -init -otp="..."
  Each key holder then provides a key, with -nonce and the key as KEY,
  "-" for stdin, or without KEY to be prompted (hidden):
      $ vaultctl operator generate-root -nonce="..." KEY
  The last key prints the encoded token; decode it:
      $ vaultctl operator generate-root -decode="..." -otp="..."

The calls are Vault's unauthenticated sys/generate-root/*; -decode needs no
server. PGP-encrypted tokens (-pgp-key) are not supported.`,
		RunE: c.run,
	}
	f := cmd.Flags()
	f.BoolVar(&c.init, "init", false, "start a root token generation (-otp, or the server generates one)")
	f.BoolVar(&c.cancel, "cancel", false, "discard the generation and the keys submitted")
	f.BoolVar(&c.status, "status", false, "print the status of the generation")
	f.StringVar(&c.decode, "decode", "", `decode this encoded token with -otp ("-": read it from stdin)`)
	f.BoolVar(&c.generateOTP, "generate-otp", false, "print a random OTP of the server's length, for -init -otp")
	f.StringVar(&c.otp, "otp", "", "OTP for -init or -decode")
	f.StringVar(&c.nonce, "nonce", "", "nonce of the generation, given with each key")
	f.StringVar(&c.pgpKey, "pgp-key", "", "not supported: PGP-encrypted root tokens")
	f.BoolVar(&c.recoveryToken, "recovery-token", false, "not supported: recovery operation tokens")
	return vaultExitCodes(cmd)
}

func (c *generateRootCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	if err := tooManyArgs(args, 1); err != nil {
		return err
	}
	switch {
	case c.pgpKey != "":
		return localf("-pgp-key is not supported: SecretumVault returns the new root token encoded with " +
			"a one-time password only; use -init with -otp, or without it to have the server generate one")
	case c.recoveryToken:
		return localf("-recovery-token is not supported: SecretumVault seals with Shamir unseal keys and " +
			"has no recovery keys")
	case c.decode != "" && !c.generateOTP:
		return c.runDecode(p)
	}
	cl, err := c.app.client()
	if err != nil {
		return remotef("Error: %w", err)
	}
	ctx := cmd.Context()
	switch {
	case c.generateOTP:
		return c.runGenerateOTP(ctx, cl, p)
	case c.cancel:
		if err := cl.Sys().GenerateRootCancel(ctx); err != nil {
			return remotef("Error canceling root token generation: %w", err)
		}
		p.success("Success! Root token generation canceled (if it was started)")
		return nil
	case c.init:
		st, err := cl.Sys().GenerateRootInit(ctx, c.otp)
		if err != nil {
			return remotef("Error initializing root generation: %w", err)
		}
		return c.print(p, st)
	case c.status:
		st, err := cl.Sys().GenerateRootStatus(ctx)
		if err != nil {
			return remotef("Error getting root generation status: %w", err)
		}
		return c.print(p, st)
	}
	key := ""
	if len(args) == 1 {
		key = strings.TrimSpace(args[0])
	}
	return c.provide(ctx, cl, p, key)
}

// runGenerateOTP prints a random base62 OTP of the length the server
// expects.
func (c *generateRootCmd) runGenerateOTP(ctx context.Context, cl *client.Client, p *printer) error {
	st, err := cl.Sys().GenerateRootStatus(ctx)
	if err != nil {
		return remotef("Error getting root generation status: %w", err)
	}
	n := st.OTPLength
	if n == 0 {
		n = defaultOTPLength
	}
	otp, err := randomBase62(n)
	if err != nil {
		return localf("Error generating an OTP: %v", err)
	}
	return p.raw(otp, map[string]any{"otp": otp, "otp_length": len(otp)})
}

// runDecode decodes -decode with -otp, locally: the encoding (base64 of
// token XOR OTP) needs nothing from the server.
func (c *generateRootCmd) runDecode(p *printer) error {
	if c.otp == "" {
		return localf("Missing otp: use -otp to supply it")
	}
	encoded := c.decode
	if encoded == "-" {
		b, err := io.ReadAll(io.LimitReader(c.app.stdin, 64<<10))
		if err != nil {
			return localf("Failed to read from stdin: %v", err)
		}
		if encoded = strings.TrimSpace(string(b)); encoded == "" {
			return localf("Missing encoded value. When using -decode=\"-\" value must be passed via stdin.")
		}
	}
	token, err := client.DecodeRootToken(encoded, c.otp)
	if err != nil {
		return localf("Error decoding root token: %v", err)
	}
	return p.raw(token, map[string]string{"token": token})
}

// provide submits one unseal key towards the root token.
func (c *generateRootCmd) provide(ctx context.Context, cl *client.Client, p *printer, arg string) error {
	st, err := cl.Sys().GenerateRootStatus(ctx)
	if err != nil {
		return remotef("Error getting root generation status: %w", err)
	}
	if !st.Started {
		n := st.OTPLength
		if n == 0 {
			n = defaultOTPLength
		}
		return localf("No root generation is in progress. Start a root generation by running "+
			"\"vaultctl operator generate-root -init\".\nIf starting root generation using the OTP method "+
			"and generating your own OTP, the length of the OTP string needs to be %d characters in length.", n)
	}
	sr := shareReader{stdin: c.app.stdin, stderr: c.app.stderr, nonceLabel: "Operation nonce", keyLabel: "Unseal Key"}
	key, nonce, err := sr.read(arg, c.nonce, st.Nonce)
	if err != nil {
		return err
	}
	if st, err = cl.Sys().GenerateRootUpdate(ctx, key, nonce); err != nil {
		return remotef("Error posting unseal key: %w", err)
	}
	return c.print(p, st)
}

// print renders a generation's status as Vault's command does: its
// columns without a header in table form (with a warning on stderr when
// it shows a server-generated OTP), the status object in json and yaml.
func (c *generateRootCmd) print(p *printer, st *client.GenerateRootStatus) error {
	fields := []field{
		{"Nonce", orNA(st.Nonce)},
		{"Started", st.Started},
		{"Progress", fmt.Sprintf("%d/%d", st.Progress, st.Required)},
		{"Complete", st.Complete},
	}
	if st.PGPFingerprint != "" {
		fields = append(fields, field{"PGP Fingerprint", st.PGPFingerprint})
	}
	switch {
	case st.EncodedToken != "":
		fields = append(fields, field{"Encoded Token", st.EncodedToken})
	case st.EncodedRootToken != "":
		fields = append(fields, field{"Encoded Root Token", st.EncodedRootToken})
	}
	if st.OTP != "" {
		if !p.structured() {
			warn(c.app.stderr, "A One-Time-Password has been generated for you and is shown in the OTP field. "+
				"You will need this value to decode the resulting root token, so keep it safe.")
		}
		fields = append(fields, field{"OTP", st.OTP})
	}
	if st.OTPLength != 0 {
		fields = append(fields, field{"OTP Length", st.OTPLength})
	}
	return p.print(document{Value: st, Sections: []section{{Rows: columnRows(fields)}}})
}

// randomBase62 returns n characters drawn uniformly from [0-9A-Za-z] with
// crypto/rand, as Vault's base62.Random.
func randomBase62(n int) (string, error) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			// 248 = 4*62: rejecting above keeps every character equally likely.
			if b < 248 && len(out) < n {
				out = append(out, alphabet[b%62])
			}
		}
	}
	return string(out), nil
}
