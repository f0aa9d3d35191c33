package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// rekeyFlavor is what differs between `operator rekey` (Vault's
// unauthenticated sys/rekey/*) and `operator rotate-keys` (OpenBao's
// token-authenticated sys/rotate/root/*): the name, the words of the
// messages and the client option. The ceremony is the same.
type rekeyFlavor struct {
	command    string // "rekey"
	noun       string // "rekey": "Error initializing rekey"
	canceled   string // "rekeying": "Success! Canceled rekeying"
	pastTense  string // "rekeyed": "unseal keys rekeyed to 5 key shares"
	nonceLabel string // shown with the prompt for a key
	verified   string // the message of a completed verification
	opts       []client.RekeyOption
}

// vaultRekey is `operator rekey`.
var vaultRekey = rekeyFlavor{
	command: "rekey", noun: "rekey", canceled: "rekeying", pastTense: "rekeyed",
	nonceLabel: "Rekey operation nonce",
	verified:   "Rekey verification successful. The rekey operation is complete and the new keys are now active.",
}

// rekeyCmd is `vaultctl operator rekey` and, with OpenBao's flavor,
// `vaultctl operator rotate-keys`.
type rekeyCmd struct {
	app    *app
	flavor rekeyFlavor

	init      bool
	cancel    bool
	status    bool
	shares    int
	threshold int
	nonce     string
	target    string
	verify    bool

	// Accepted as Vault's and refused: SecretumVault has no PGP-encrypted
	// shares, hence no backup of them.
	pgpKeys        []string
	backup         bool
	backupDelete   bool
	backupRetrieve bool
}

func newOperatorRekeyCmd(a *app) *cobra.Command {
	return newRekeyCommand(a, vaultRekey, "Generate new unseal keys",
		`Generates a new set of unseal keys, optionally changing their number
(-key-shares) and threshold (-key-threshold). The data is untouched and the
server keeps serving; a threshold of the current unseal keys must be
provided. The calls are Vault's unauthenticated sys/rekey/*.

Start with -init, then each holder of a current key runs the command with
-nonce and the key: as the KEY argument, "-" to read it from stdin, or
without KEY to be prompted for it (hidden; the nonce then defaults to the
rekey's). The last key prints the new keys.

With -init -verify the new keys only replace the old ones once a threshold
of them has been provided with -verify and the verification nonce; until
then the old keys stay valid. -status and -cancel show and discard the rekey
(with -verify: the verification progress).`)
}

// newRekeyCommand builds the command of a flavor.
func newRekeyCommand(a *app, fl rekeyFlavor, short, long string) *cobra.Command {
	c := &rekeyCmd{app: a, flavor: fl}
	cmd := &cobra.Command{
		Use:   fl.command + " [options] [KEY]",
		Short: short,
		Long:  long,
		RunE:  c.run,
	}
	f := cmd.Flags()
	f.BoolVar(&c.init, "init", false, "start a rekey (-key-shares, -key-threshold, -verify)")
	f.BoolVar(&c.cancel, "cancel", false, "discard the rekey and the keys submitted (with -verify: restart the verification)")
	f.BoolVar(&c.status, "status", false, "print the status of the rekey (with -verify: of its verification)")
	f.IntVarP(&c.shares, "key-shares", "n", 5, "number of new key shares")
	f.IntVarP(&c.threshold, "key-threshold", "t", 3, "number of new key shares needed to unseal")
	f.StringVar(&c.nonce, "nonce", "", "nonce of the rekey (or of its verification, with -verify)")
	f.StringVar(&c.target, "target", "barrier", `keys to rekey: "barrier" (the unseal keys); "recovery" is not supported`)
	f.BoolVar(&c.verify, "verify", false, "with -init: require verification of the new keys; else act on the verification")
	f.StringSliceVar(&c.pgpKeys, "pgp-keys", nil, "not supported: PGP-encrypted key shares")
	f.BoolVar(&c.backup, "backup", false, "not supported: backup of PGP-encrypted key shares")
	f.BoolVar(&c.backupDelete, "backup-delete", false, "not supported: backup of PGP-encrypted key shares")
	f.BoolVar(&c.backupRetrieve, "backup-retrieve", false, "not supported: backup of PGP-encrypted key shares")
	return vaultExitCodes(cmd)
}

func (c *rekeyCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	if err := tooManyArgs(args, 1); err != nil {
		return err
	}
	if err := c.refuseUnsupported(); err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return remotef("Error: %w", err)
	}
	ctx := cmd.Context()
	switch {
	case c.cancel:
		return c.runCancel(ctx, cl, p)
	case c.init:
		return c.runInit(ctx, cl, p)
	case c.status:
		return c.printStatus(ctx, cl, p)
	}
	key := ""
	if len(args) == 1 {
		key = strings.TrimSpace(args[0])
	}
	return c.provide(ctx, cl, p, key)
}

// refuseUnsupported refuses, before anything is sent, what Vault's command
// offers and SecretumVault cannot do.
func (c *rekeyCmd) refuseUnsupported() error {
	switch t := strings.ToLower(strings.TrimSpace(c.target)); t {
	case "barrier":
	case "recovery", "hsm":
		return localf("-target=%s is not supported: SecretumVault seals with Shamir unseal keys and has no "+
			"recovery keys; -target=barrier (the default) rekeys the unseal keys", t)
	default:
		return localf("Unknown target: %s", c.target)
	}
	switch {
	case len(c.pgpKeys) > 0:
		return localf("-pgp-keys is not supported: SecretumVault does not encrypt key shares with PGP; " +
			"the new keys are printed as they are, so store each one safely")
	case c.backup || c.backupDelete || c.backupRetrieve:
		return localf("-backup, -backup-delete and -backup-retrieve are not supported: SecretumVault keeps " +
			"no backup of key shares (Vault only backs up PGP-encrypted shares)")
	}
	return nil
}

func (c *rekeyCmd) runInit(ctx context.Context, cl *client.Client, p *printer) error {
	st, err := cl.Sys().RekeyInit(ctx, &client.RekeyInitRequest{
		SecretShares: c.shares, SecretThreshold: c.threshold, RequireVerification: c.verify,
	}, c.flavor.opts...)
	if err != nil {
		return remotef("Error initializing %s: %w", c.flavor.noun, err)
	}
	if !p.structured() {
		warn(c.app.stderr, "WARNING! If you lose the keys after they are returned, there is no recovery. "+
			"SecretumVault does not encrypt key shares with PGP: store each new key safely as soon as it "+
			"is printed, and only discard the current keys once the new ones work.")
		fmt.Fprintln(c.app.stderr)
	}
	return p.print(rekeyStatusDocument(st))
}

func (c *rekeyCmd) runCancel(ctx context.Context, cl *client.Client, p *printer) error {
	if c.verify {
		if err := cl.Sys().RekeyVerifyRestart(ctx, c.flavor.opts...); err != nil {
			return remotef("Error canceling %s verification: %w", c.flavor.noun, err)
		}
		p.success("Success! Restarted the %s verification (the new keys still await verification)", c.flavor.noun)
		return nil
	}
	if err := cl.Sys().RekeyCancel(ctx, c.flavor.opts...); err != nil {
		return remotef("Error canceling %s: %w", c.flavor.noun, err)
	}
	p.success("Success! Canceled %s (if it was started)", c.flavor.canceled)
	return nil
}

// printStatus prints the rekey's status, or with -verify its
// verification's.
func (c *rekeyCmd) printStatus(ctx context.Context, cl *client.Client, p *printer) error {
	if c.verify {
		vs, err := cl.Sys().RekeyVerifyStatus(ctx, c.flavor.opts...)
		if err != nil {
			return remotef("Error reading %s verification status: %w", c.flavor.noun, err)
		}
		return p.print(verifyStatusDocument(vs))
	}
	st, err := cl.Sys().RekeyStatus(ctx, c.flavor.opts...)
	if err != nil {
		return remotef("Error reading %s status: %w", c.flavor.noun, err)
	}
	return p.print(rekeyStatusDocument(st))
}

// provide submits one key share: a current key, or with -verify a new one.
func (c *rekeyCmd) provide(ctx context.Context, cl *client.Client, p *printer, arg string) error {
	sys := cl.Sys()
	var st *client.RekeyStatus
	var started bool
	var current string
	if c.verify {
		vs, err := sys.RekeyVerifyStatus(ctx, c.flavor.opts...)
		if err != nil {
			return remotef("Error getting %s verification status: %w", c.flavor.noun, err)
		}
		started, current = vs.Started, vs.Nonce
	} else {
		var err error
		if st, err = sys.RekeyStatus(ctx, c.flavor.opts...); err != nil {
			return remotef("Error getting %s status: %w", c.flavor.noun, err)
		}
		started, current = st.Started, st.Nonce
	}
	if !started {
		return localf("No %s is in progress. Start one by running \"vaultctl operator %s -init\".",
			c.flavor.noun, c.flavor.command)
	}
	keyLabel := "Unseal Key"
	if c.verify {
		keyLabel = "New Unseal Key"
	}
	sr := shareReader{stdin: c.app.stdin, stderr: c.app.stderr, nonceLabel: c.flavor.nonceLabel, keyLabel: keyLabel}
	key, nonce, err := sr.read(arg, c.nonce, current)
	if err != nil {
		return err
	}
	if c.verify {
		res, err := sys.RekeyVerifyUpdate(ctx, key, nonce, c.flavor.opts...)
		if err != nil {
			return remotef("Error posting unseal key: %w", err)
		}
		if !res.Complete {
			return c.printStatus(ctx, cl, p)
		}
		if p.structured() {
			return p.print(document{Value: res})
		}
		return p.print(document{Sections: []section{{Text: wrapLines(c.flavor.verified)}}})
	}
	res, err := sys.RekeyUpdate(ctx, key, nonce, c.flavor.opts...)
	if err != nil {
		return remotef("Error posting unseal key: %w", err)
	}
	if !res.Complete {
		return c.printStatus(ctx, cl, p)
	}
	if p.structured() {
		return p.print(document{Value: rekeyResult(res)})
	}
	return c.printNewKeys(ctx, cl, p, st, res)
}

// printNewKeys prints the new keys in table form and what to do next: use
// them, or verify them first.
func (c *rekeyCmd) printNewKeys(ctx context.Context, cl *client.Client, p *printer, st *client.RekeyStatus, res *client.RekeyUpdateResponse) error {
	if !res.VerificationRequired && !st.VerificationRequired {
		return p.print(newKeysDocument(res, wrapLines(
			"Vault unseal keys "+c.flavor.pastTense+" to "+itoa(st.N)+" key shares and a key threshold of "+itoa(st.T)+
				". Please securely distribute the key shares printed above. When Vault is re-sealed, restarted, "+
				"or stopped, you must supply at least "+itoa(st.T)+" of these keys to unseal it before it can "+
				"start servicing requests.")))
	}
	if err := p.print(newKeysDocument(res, wrapLines(
		"Vault has created a new unseal key, split into "+itoa(st.N)+" key shares and a key threshold of "+
			itoa(st.T)+". These will not be active until after verification is complete. Please securely "+
			"distribute the key shares printed above. When Vault is re-sealed, restarted, or stopped, you must "+
			"supply at least "+itoa(st.T)+" of these keys to unseal it before it can start servicing requests."))); err != nil {
		return err
	}
	fmt.Fprintln(c.app.stderr)
	warn(c.app.stderr, "Again, these key shares are _not_ valid until verification is performed. Do not lose "+
		"or discard your current key shares until after verification is complete or you will be unable to "+
		"unseal Vault. If you cancel the "+c.flavor.noun+" or seal Vault before verification is complete the "+
		"new shares will be discarded and the current shares will remain valid.")
	fmt.Fprintln(c.app.stderr)
	warn(c.app.stderr, "The current verification status, including initial nonce, is shown below.")
	fmt.Fprintln(c.app.stderr)
	if err := p.print(document{Sections: []section{{Text: []string{""}}}}); err != nil {
		return err
	}
	c.verify = true
	return c.printStatus(ctx, cl, p)
}
