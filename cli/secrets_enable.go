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
	app             *app
	path            string
	description     string
	version         int
	options         []string
	defaultLeaseTTL string
	maxLeaseTTL     string
	local           bool
	sealWrap        bool
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
	f := cmd.Flags()
	f.StringVar(&c.path, "path", "", "mount path (default the engine type)")
	f.StringVar(&c.description, "description", "", "human-readable description")
	f.IntVar(&c.version, "version", 0, "engine version (kv: 1 or 2)")
	f.StringArrayVar(&c.options, "options", nil, "engine option KEY=VALUE (repeatable)")
	f.StringVar(&c.defaultLeaseTTL, "default-lease-ttl", "", "default lease TTL, e.g. 768h")
	f.StringVar(&c.maxLeaseTTL, "max-lease-ttl", "", "maximum lease TTL")
	f.BoolVar(&c.local, "local", false, "do not replicate the mount to other clusters")
	f.BoolVar(&c.sealWrap, "seal-wrap", false, "seal-wrap the mount's data")
	return cmd
}

func (c *secretsEnableCmd) run(cmd *cobra.Command, args []string) error {
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
	if err := cl.Sys().EnableMount(cmd.Context(), path, in); err != nil {
		return fmt.Errorf("enabling %s: %w", path, err)
	}
	p.success("Success! Enabled the %s secrets engine at: %s/", in.Type, path)
	return nil
}

// input builds the mount request and path from TYPE and the flags.
func (c *secretsEnableCmd) input(typ string) (*client.MountInput, string, error) {
	typ = strings.TrimSpace(typ)
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
	opts := map[string]string{}
	for _, o := range c.options {
		k, v, ok := strings.Cut(o, "=")
		if !ok || k == "" {
			return nil, "", usagef("-options %q is not KEY=VALUE", o)
		}
		opts[k] = v
	}
	if typ == "kv-v2" {
		in.Type = "kv"
		opts["version"] = "2"
	}
	if c.version > 0 {
		opts["version"] = strconv.Itoa(c.version)
	}
	if len(opts) > 0 {
		in.Options = opts
	}
	return in, path, nil
}

// checkDuration accepts what the server accepts (client.ParseDuration):
// "", seconds ("3600"), a Go duration ("1h") or days ("7d").
func checkDuration(s string) error {
	if _, err := client.ParseDuration(s); err != nil {
		return usagef("%q is not a duration (e.g. 1h, 30m, 3600, 7d)", s)
	}
	return nil
}
