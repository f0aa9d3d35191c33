package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// leaseListCmd is `vaultctl lease list`.
type leaseListCmd struct{ app *app }

func newLeaseListCmd(a *app) *cobra.Command {
	c := &leaseListCmd{app: a}
	return &cobra.Command{
		Use:   "list [PREFIX]",
		Short: "List the leases under a prefix",
		Long: `Lists the keys under PREFIX in the lease tree (LIST sys/leases/lookup/PREFIX),
as "vault list sys/leases/lookup/PREFIX" does: lease ID suffixes, and
folders ending in "/". Without PREFIX, the top level. Exit code 2 when
there are none.`,
		Args: rangeArgs(0, 1),
		RunE: c.run,
	}
}

func (c *leaseListCmd) run(cmd *cobra.Command, args []string) error {
	var prefix string
	if len(args) == 1 {
		prefix = strings.Trim(strings.TrimSpace(args[0]), "/")
	}
	if err := checkSegments(prefix); err != nil {
		return err
	}
	p, cl, err := c.app.session()
	if err != nil {
		return err
	}
	keys, err := cl.Sys().ListLeases(cmd.Context(), prefix)
	if err != nil {
		return fmt.Errorf("listing leases: %w", err)
	}
	if len(keys) == 0 {
		return noValueAt("sys/leases/lookup/" + prefix)
	}
	return p.print(keysDocument(keys))
}
