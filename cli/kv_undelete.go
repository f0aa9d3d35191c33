package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// kvUndeleteCmd is `vaultctl kv undelete`.
type kvUndeleteCmd struct {
	app      *app
	mount    string
	versions []int
}

func newKVUndeleteCmd(a *app) *cobra.Command {
	c := &kvUndeleteCmd{app: a}
	cmd := &cobra.Command{
		Use:   "undelete [-mount=M] -versions=1,2 PATH",
		Short: "Restore soft-deleted versions of a secret",
		Args:  exactArgs(1),
		RunE:  c.run,
	}
	bindMount(cmd, &c.mount)
	cmd.Flags().IntSliceVar(&c.versions, "versions", nil, "versions to restore (required)")
	return cmd
}

func (c *kvUndeleteCmd) run(cmd *cobra.Command, args []string) error {
	return versionsOp(c.app, cmd, c.mount, args[0], c.versions, "undelete")
}

// versionsOp runs kv undelete or kv destroy.
func versionsOp(a *app, cmd *cobra.Command, mount, arg string, versions []int, op string) error {
	p, err := a.printer()
	if err != nil {
		return err
	}
	t, err := parseKVPath(mount, arg, false)
	if err != nil {
		return err
	}
	if len(versions) == 0 {
		return usagef("-versions is required")
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	kv := cl.KV(t.mount)
	if op == "destroy" {
		err = kv.Destroy(cmd.Context(), t.path, versions...)
	} else {
		err = kv.Undelete(cmd.Context(), t.path, versions...)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", t.api(op), err)
	}
	p.success("Success! Data written to: %s", t.api(op))
	return nil
}
