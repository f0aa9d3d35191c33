package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// tokenLookupCmd is `vaultctl token lookup`.
type tokenLookupCmd struct {
	app   *app
	field string
}

func newTokenLookupCmd(a *app) *cobra.Command {
	c := &tokenLookupCmd{app: a}
	cmd := &cobra.Command{
		Use:   "lookup [TOKEN|-]",
		Short: "Describe a token (default: the one in use)",
		Long:  `Describes TOKEN, or the token in use when none is given. "-" reads TOKEN from stdin.`,
		Args:  rangeArgs(0, 1),
		RunE:  c.run,
	}
	cmd.Flags().StringVar(&c.field, "field", "", "print only this field")
	return cmd
}

func (c *tokenLookupCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	var tok string
	if len(args) == 1 {
		if tok, err = c.app.tokenArg(args[0]); err != nil {
			return err
		}
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	var s *client.Secret
	if tok == "" {
		s, err = cl.Token().LookupSelf(cmd.Context())
	} else {
		s, err = cl.Token().Lookup(cmd.Context(), tok)
	}
	if err == nil && s == nil {
		err = fmt.Errorf("empty answer")
	}
	if err != nil {
		return fmt.Errorf("looking up token: %w", err)
	}
	return c.app.printSecret(p, s, c.field)
}
