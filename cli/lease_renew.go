package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// leaseRenewCmd is `vaultctl lease renew`.
type leaseRenewCmd struct {
	app       *app
	increment string
}

func newLeaseRenewCmd(a *app) *cobra.Command {
	c := &leaseRenewCmd{app: a}
	cmd := &cobra.Command{
		Use:   "renew [-increment=DURATION] ID",
		Short: "Renew the lease of a secret",
		Long: `Renews the lease ID (PUT sys/leases/renew), extending the time its secret may
be used before the server revokes it; the secret itself does not change.
-increment asks for a new TTL counted from now ("1h", "90m", or seconds
"3600"); without it the lease's default TTL applies. The server may grant
less than asked (its max_ttl caps every lease) and prints the lease_duration
it granted. Renewal fails when the lease is not renewable, already revoked
or at its max TTL.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	cmd.Flags().StringVar(&c.increment, "increment", "", `requested TTL from now, e.g. "1h" or "3600" (default the lease's default TTL)`)
	return cmd
}

func (c *leaseRenewCmd) run(cmd *cobra.Command, args []string) error {
	id, err := leaseIDArg(args[0])
	if err != nil {
		return err
	}
	inc, err := client.ParseDuration(c.increment)
	if err != nil || inc < 0 || inc > 0 && inc < time.Second {
		return usagef("invalid -increment %q: want a duration of at least 1s, e.g. 1h or 3600", c.increment)
	}
	p, cl, err := c.app.session()
	if err != nil {
		return err
	}
	r, err := cl.Sys().RenewLease(cmd.Context(), id, inc)
	if err != nil {
		return fmt.Errorf("renewing lease %s: %w", id, err)
	}
	if !p.structured() {
		printWarnings(c.app.stderr, &client.Secret{Warnings: r.Warnings})
	}
	return p.print(renewalDocument(r))
}

// renewalDocument renders a renewal as "vault lease renew" does.
func renewalDocument(r *client.LeaseRenewal) document {
	fields := []field{{"lease_id", r.LeaseID}, {"lease_duration", humanDuration(r.LeaseDuration)}, {"lease_renewable", r.Renewable}}
	return document{Value: r, Sections: []section{keyValueSection("", fields)}}
}
