package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// authEnableCmd is `vaultctl auth enable`.
type authEnableCmd struct {
	app             *app
	path            string
	description     string
	options         []string
	defaultLeaseTTL string
	maxLeaseTTL     string
	local           bool
	sealWrap        bool
}

func newAuthEnableCmd(a *app) *cobra.Command {
	c := &authEnableCmd{app: a}
	cmd := &cobra.Command{
		Use:   "enable [-path=P] [-description=D] TYPE",
		Short: "Enable an auth method",
		Long: `Enables an auth method of TYPE (approle, userpass, keypair, cert, jwt) at
-path (default: TYPE); it then answers under auth/PATH/.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	f := cmd.Flags()
	f.StringVar(&c.path, "path", "", "mount path (default the method type)")
	f.StringVar(&c.description, "description", "", "human-readable description")
	f.StringArrayVar(&c.options, "options", nil, "method option KEY=VALUE (repeatable)")
	f.StringVar(&c.defaultLeaseTTL, "default-lease-ttl", "", "default TTL of the tokens it issues, e.g. 1h")
	f.StringVar(&c.maxLeaseTTL, "max-lease-ttl", "", "maximum TTL of the tokens it issues")
	f.BoolVar(&c.local, "local", false, "do not replicate the method to other clusters")
	f.BoolVar(&c.sealWrap, "seal-wrap", false, "seal-wrap the method's data")
	return cmd
}

func (c *authEnableCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	in, path, err := c.input(args[0])
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if err := cl.Sys().EnableAuth(cmd.Context(), path, in); err != nil {
		return fmt.Errorf("enabling %s auth method at %s: %w", in.Type, path, err)
	}
	p.success("Success! Enabled %s auth method at: %s/", in.Type, path)
	return nil
}

// input builds the request and path from TYPE and the flags.
func (c *authEnableCmd) input(typ string) (*client.MountInput, string, error) {
	typ = strings.TrimSpace(typ)
	if typ == "" {
		return nil, "", usagef("empty auth method type")
	}
	path := strings.Trim(c.path, "/")
	if path == "" {
		path = typ
	}
	if err := checkSegments(path); err != nil || path == "" {
		return nil, "", usagef("invalid mount path %q", path)
	}
	for _, ttl := range []string{c.defaultLeaseTTL, c.maxLeaseTTL} {
		if err := checkDuration(ttl); err != nil {
			return nil, "", err
		}
	}
	in := &client.MountInput{Type: typ, Description: c.description, Local: c.local, SealWrap: c.sealWrap,
		Config: client.MountConfigInput{DefaultLeaseTTL: c.defaultLeaseTTL, MaxLeaseTTL: c.maxLeaseTTL}}
	for _, o := range c.options {
		k, v, ok := strings.Cut(o, "=")
		if !ok || k == "" {
			return nil, "", usagef("-options %q is not KEY=VALUE", o)
		}
		if in.Options == nil {
			in.Options = map[string]string{}
		}
		in.Options[k] = v
	}
	return in, path, nil
}
