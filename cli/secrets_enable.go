package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// secretsEnableCmd is `vaultctl secrets enable`.
type secretsEnableCmd struct {
	app *app
	mountFlags
	version int
}

func newSecretsEnableCmd(a *app) *cobra.Command {
	c := &secretsEnableCmd{app: a}
	cmd := &cobra.Command{
		Use:   "enable [-path=P] [-description=D] [-version=N] TYPE",
		Short: "Mount a secrets engine",
		Long: `Mounts an engine of TYPE at -path (default: TYPE). "kv-v2" mounts type kv
with options version=2, as does "kv" with -version=2.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	c.bind(cmd.Flags(), mountFlagHelp{kind: "engine", of: "mount",
		defaultTTL: "default lease TTL, e.g. 768h", maxTTL: "maximum lease TTL"})
	cmd.Flags().IntVar(&c.version, "version", 0, "engine version (kv: 1 or 2)")
	return cmd
}

func (c *secretsEnableCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	in, path, err := c.input(strings.TrimSpace(args[0]))
	if err != nil {
		return err
	}
	c.version2(in)
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if err := cl.Sys().EnableMount(cmd.Context(), path, in); err != nil {
		return fmt.Errorf("enabling %s: %w", path, err)
	}
	p.success("Success! Enabled the %s secrets engine at: %s/", in.Type, path)
	return nil
}

// version2 applies "kv-v2" (type kv, version=2) and -version to in.
func (c *secretsEnableCmd) version2(in *client.MountInput) {
	opts := in.Options
	if opts == nil {
		opts = map[string]string{}
	}
	if in.Type == "kv-v2" {
		in.Type = "kv"
		opts["version"] = "2"
	}
	if c.version > 0 {
		opts["version"] = strconv.Itoa(c.version)
	}
	if len(opts) > 0 {
		in.Options = opts
	}
}
