package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// policyDeleteCmd is `vaultctl policy delete`.
type policyDeleteCmd struct {
	app  *app
	kind string
}

func newPolicyDeleteCmd(a *app) *cobra.Command {
	c := &policyDeleteCmd{app: a}
	cmd := &cobra.Command{
		Use:   "delete [-type cedar|hcl] NAME",
		Short: "Delete a policy",
		Long: `Deletes the policy NAME. With -type the delete is sent as it is, as Vault
does (no error when there is no such policy); without it the one policy of
either kind with that name is deleted, and exit code 2 says there is none.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	bindPolicyType(cmd, &c.kind)
	return cmd
}

func (c *policyDeleteCmd) run(cmd *cobra.Command, args []string) error {
	name := args[0]
	p, kind, sys, err := c.app.policySession(c.kind, name)
	if err != nil {
		return err
	}
	if kind == "" {
		sp, err := findPolicy(cmd.Context(), sys, "", name)
		if err != nil {
			return err
		}
		kind = sp.Type
	}
	if kind == kindCedar {
		err = sys.DeleteCedarPolicy(cmd.Context(), name)
	} else {
		err = sys.DeleteACLPolicy(cmd.Context(), name)
	}
	if err != nil {
		return fmt.Errorf("deleting policy %s: %w", name, err)
	}
	p.success("Success! Deleted %s policy: %s", kind, name)
	return nil
}
