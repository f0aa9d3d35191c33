package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// leaseRevokeCmd is `vaultctl lease revoke`.
type leaseRevokeCmd struct {
	app                 *app
	prefix, force, sync bool
}

func newLeaseRevokeCmd(a *app) *cobra.Command {
	c := &leaseRevokeCmd{app: a}
	cmd := &cobra.Command{
		Use:   "revoke [-prefix] [-force] [-sync] ID|PREFIX",
		Short: "Revoke leases and their secrets",
		Long: `Revokes the lease ID and its secret (PUT sys/leases/revoke), or with -prefix
every lease whose ID starts with PREFIX (PUT sys/leases/revoke-prefix/PREFIX).

As with "vault lease revoke", the request asks for a queued revocation
unless -sync is given: Vault then answers at once and keeps trying if the
revocation fails. SecretumVault always revokes before it answers and
reports a failure, -sync or not (the lease stays, and is retried at its
expiry).

-force (with -prefix) removes the leases from the server even when the
engine fails to revoke their secrets (PUT sys/leases/revoke-force/PREFIX).
It is for recovery, when the secrets were already removed by hand: used
otherwise, the server forgets secrets that still exist. It is always
synchronous.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	f := cmd.Flags()
	f.BoolVar(&c.prefix, "prefix", false, "treat the argument as a prefix and revoke every lease under it")
	f.BoolVarP(&c.force, "force", "f", false, "remove the leases even if revoking their secrets fails (requires -prefix)")
	f.BoolVar(&c.sync, "sync", false, "wait for the revocation instead of queueing it")
	return cmd
}

func (c *leaseRevokeCmd) run(cmd *cobra.Command, args []string) error {
	if c.force && !c.prefix {
		return usagef("-force requires -prefix")
	}
	id, err := leaseIDArg(args[0])
	if err != nil {
		return err
	}
	if c.prefix && strings.Trim(id, "/") == "" {
		return usagef("the prefix is empty: it would revoke every lease")
	}
	p, cl, err := c.app.session()
	if err != nil {
		return err
	}
	sys, ctx := cl.Sys(), cmd.Context()
	switch {
	case c.force:
		fmt.Fprintln(c.app.stderr, "Warning! Force-removing leases can leave the server out of sync with the secrets engines!")
		if err := sys.RevokeForce(ctx, id); err != nil {
			return fmt.Errorf("force revoking leases with prefix %s: %w", id, err)
		}
		p.success("Success! Force revoked any leases with prefix: %s", id)
		return nil
	case c.prefix:
		if err := sys.RevokePrefix(ctx, id, client.WithRevokeSync(c.sync)); err != nil {
			return fmt.Errorf("revoking leases with prefix %s: %w", id, err)
		}
	default:
		if err := sys.RevokeLease(ctx, id, client.WithRevokeSync(c.sync)); err != nil {
			return fmt.Errorf("revoking lease %s: %w", id, err)
		}
	}
	c.done(p, id)
	return nil
}

// done prints Vault's success line.
func (c *leaseRevokeCmd) done(p *printer, id string) {
	switch {
	case !c.sync:
		p.success("All revocation operations queued successfully!")
	case c.prefix:
		p.success("Success! Revoked any leases with prefix: %s", id)
	default:
		p.success("Success! Revoked lease: %s", id)
	}
}
