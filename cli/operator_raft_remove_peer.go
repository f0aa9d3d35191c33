package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// raftRemovePeerCmd is `vaultctl operator raft remove-peer`.
type raftRemovePeerCmd struct{ app *app }

func newRaftRemovePeerCmd(a *app) *cobra.Command {
	c := &raftRemovePeerCmd{app: a}
	return &cobra.Command{
		Use:   "remove-peer NODE_ID",
		Short: "Remove a server from the raft cluster (needs a root token)",
		Long: `Removes the server NODE_ID (as shown by list-peers) from the raft
configuration. A removed node cannot rejoin without a new join.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
}

func (c *raftRemovePeerCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	if args[0] == "" {
		return usagef("empty node id")
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if err := cl.Raft().RemovePeer(cmd.Context(), args[0]); err != nil {
		return fmt.Errorf("removing raft peer: %w", err)
	}
	p.success("Peer removed successfully!")
	return nil
}
