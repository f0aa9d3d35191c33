package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// tokenCreateCmd is `vaultctl token create`.
type tokenCreateCmd struct {
	app             *app
	policies        []string
	ttl             string
	explicitMaxTTL  string
	period          string
	orphan          bool
	numUses         int
	displayName     string
	metadata        []string
	renewable       bool
	noDefaultPolicy bool
	tokenType       string
	field           string
}

func newTokenCreateCmd(a *app) *cobra.Command {
	c := &tokenCreateCmd{app: a}
	cmd := &cobra.Command{
		Use:   "create [flags]",
		Short: "Create a child token (or an orphan with -orphan)",
		Long: `Creates a token. TTLs are durations (1h, 30m, 7d) or seconds. -policy and
-metadata KEY=VALUE may be repeated. -field=token prints only the new token.`,
		Args: noArgs,
		RunE: c.run,
	}
	f := cmd.Flags()
	f.StringSliceVar(&c.policies, "policy", nil, "policy to attach (repeatable, or comma-separated)")
	f.StringVar(&c.ttl, "ttl", "", "initial TTL")
	f.StringVar(&c.explicitMaxTTL, "explicit-max-ttl", "", "hard TTL limit, even across renewals")
	f.StringVar(&c.period, "period", "", "make a periodic token renewed to this period")
	f.BoolVar(&c.orphan, "orphan", false, "create without a parent (not revoked with its creator)")
	f.IntVar(&c.numUses, "num-uses", 0, "number of uses before the token expires (0: unlimited)")
	f.StringVar(&c.displayName, "display-name", "", "display name")
	f.StringArrayVar(&c.metadata, "metadata", nil, "metadata KEY=VALUE (repeatable)")
	f.BoolVar(&c.renewable, "renewable", true, "allow the token to be renewed")
	f.BoolVar(&c.noDefaultPolicy, "no-default-policy", false, "do not attach the default policy")
	f.StringVar(&c.tokenType, "type", "", "token type: service or batch")
	f.StringVar(&c.field, "field", "", "print only this field (e.g. token)")
	return cmd
}

func (c *tokenCreateCmd) run(cmd *cobra.Command, _ []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	req, err := c.request(cmd)
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	s, err := cl.Token().Create(cmd.Context(), req)
	if err != nil {
		return fmt.Errorf("creating token: %w", err)
	}
	return c.app.printSecret(p, s, c.field)
}

// request builds the create request from the flags.
func (c *tokenCreateCmd) request(cmd *cobra.Command) (*client.TokenCreateRequest, error) {
	for _, d := range []string{c.ttl, c.explicitMaxTTL, c.period} {
		if err := checkDuration(d); err != nil {
			return nil, err
		}
	}
	if c.numUses < 0 {
		return nil, usagef("-num-uses must not be negative")
	}
	req := &client.TokenCreateRequest{Policies: c.policies, TTL: c.ttl, ExplicitMaxTTL: c.explicitMaxTTL,
		Period: c.period, NoParent: c.orphan, NumUses: c.numUses, DisplayName: c.displayName,
		NoDefaultPolicy: c.noDefaultPolicy, Type: c.tokenType}
	if cmd.Flags().Changed("renewable") {
		r := c.renewable
		req.Renewable = &r
	}
	if len(c.metadata) > 0 {
		req.Metadata = make(map[string]string, len(c.metadata))
		for _, m := range c.metadata {
			k, v, ok := strings.Cut(m, "=")
			if !ok || k == "" {
				return nil, usagef("-metadata %q is not KEY=VALUE", m)
			}
			req.Metadata[k] = v
		}
	}
	return req, nil
}
