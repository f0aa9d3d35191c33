package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// policyReadCmd is `vaultctl policy read`.
type policyReadCmd struct {
	app   *app
	kind  string
	cedar bool
}

func newPolicyReadCmd(a *app) *cobra.Command {
	c := &policyReadCmd{app: a}
	cmd := &cobra.Command{
		Use:   "read [-type cedar|hcl] [-cedar] NAME",
		Short: "Print a policy",
		Long: `Prints the policy NAME as it was written. Without -type the one policy of
either kind with that name is read. -cedar prints the Cedar an HCL policy
compiles to instead. -format=json prints name, type, policy and cedar.
Exit code 2 when there is no such policy.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	bindPolicyType(cmd, &c.kind)
	cmd.Flags().BoolVar(&c.cedar, "cedar", false, "print the compiled Cedar of an HCL policy")
	return cmd
}

func (c *policyReadCmd) run(cmd *cobra.Command, args []string) error {
	p, kind, sys, err := c.app.policySession(c.kind, args[0])
	if err != nil {
		return err
	}
	sp, err := findPolicy(cmd.Context(), sys, kind, args[0])
	if err != nil {
		return err
	}
	text := sp.Policy
	if c.cedar && sp.Type == kindHCL {
		if sp.Cedar == "" {
			return fmt.Errorf("the server returned no compiled Cedar for policy %s", sp.Name)
		}
		text = sp.Cedar
	}
	return p.print(document{Value: sp, Sections: []section{{Text: textLines(text)}}})
}
