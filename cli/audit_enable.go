package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// auditEnableCmd is `vaultctl audit enable`.
type auditEnableCmd struct {
	app         *app
	path        string
	description string
	local       bool
}

func newAuditEnableCmd(a *app) *cobra.Command {
	c := &auditEnableCmd{app: a}
	cmd := &cobra.Command{
		Use:   "enable [-path=P] [-description=D] [-local] TYPE [KEY=VALUE...]",
		Short: "Enable an audit device",
		Long: `Enables an audit device of TYPE (PUT sys/audit/PATH) at -path (default:
TYPE), with the device options given as KEY=VALUE, as "vault audit enable"
does, e.g.

    vaultctl audit enable file file_path=/var/log/vault/audit.log

The server then records every request and response on it, and refuses a
request no device can record.`,
		Args: minArgs(1),
		RunE: c.run,
	}
	f := cmd.Flags()
	f.StringVar(&c.path, "path", "", "path of the device (default the device type)")
	f.StringVar(&c.description, "description", "", "human-readable description")
	f.BoolVar(&c.local, "local", false, "do not replicate the device to other clusters")
	return cmd
}

func (c *auditEnableCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	in, path, err := c.input(args)
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if err := cl.Sys().EnableAudit(cmd.Context(), path, in); err != nil {
		return fmt.Errorf("enabling %s audit device at %s: %w", in.Type, path, err)
	}
	p.success("Success! Enabled the %s audit device at: %s/", in.Type, path)
	return nil
}

// input builds the request and the path from the arguments and flags.
func (c *auditEnableCmd) input(args []string) (*client.AuditInput, string, error) {
	typ := strings.TrimSpace(args[0])
	if typ == "" || strings.Contains(typ, "=") {
		return nil, "", usagef("the first argument is the device TYPE, not %q", args[0])
	}
	path := strings.Trim(c.path, "/")
	if path == "" {
		path = typ
	}
	if err := checkSegments(path); err != nil {
		return nil, "", usagef("invalid audit device path %q", path)
	}
	in := &client.AuditInput{Type: typ, Description: c.description, Local: c.local}
	for _, kv := range args[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, "", usagef("device option %q is not KEY=VALUE", kv)
		}
		if in.Options == nil {
			in.Options = map[string]string{}
		}
		in.Options[k] = v
	}
	return in, path, nil
}
