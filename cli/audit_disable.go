package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// auditDisableCmd is `vaultctl audit disable`.
type auditDisableCmd struct{ app *app }

func newAuditDisableCmd(a *app) *cobra.Command {
	c := &auditDisableCmd{app: a}
	return &cobra.Command{
		Use:   "disable PATH",
		Short: "Disable an audit device",
		Long: `Disables the audit device at PATH (DELETE sys/audit/PATH). Its log files
stay where they are; the device writes a final checkpoint when it closes.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
}

func (c *auditDisableCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	path := strings.Trim(args[0], "/")
	if path == "" || checkSegments(path) != nil {
		return usagef("invalid audit device path %q", args[0])
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if err := cl.Sys().DisableAudit(cmd.Context(), path); err != nil {
		return fmt.Errorf("disabling audit device at %s: %w", path, err)
	}
	p.success("Success! Disabled audit device (if it was enabled) at: %s/", path)
	return nil
}
