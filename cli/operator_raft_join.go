package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// raftJoinCmd is `vaultctl operator raft join`.
type raftJoinCmd struct {
	app      *app
	caCert   string
	nonVoter bool
}

func newRaftJoinCmd(a *app) *cobra.Command {
	c := &raftJoinCmd{app: a}
	cmd := &cobra.Command{
		Use:   "join [-leader-ca-cert=@FILE] [-non-voter] LEADER_API_ADDR",
		Short: "Join the node at -address to the cluster of LEADER_API_ADDR",
		Long: `Asks the node the CLI talks to (-address or VAULT_ADDR), which must be
uninitialized, to join the raft cluster that LEADER_API_ADDR belongs to, e.g.
https://10.0.0.1:8200. The node then shows as sealed: unseal it with the
cluster's unseal keys to complete the join. No token is needed.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	f := cmd.Flags()
	f.StringVar(&c.caCert, "leader-ca-cert", "", "PEM CA certificate of the leader's API, inline or as @FILE")
	f.BoolVar(&c.nonVoter, "non-voter", false, "join as a non-voting member")
	return cmd
}

func (c *raftJoinCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	leader := strings.TrimSpace(args[0])
	if !strings.HasPrefix(leader, "http://") && !strings.HasPrefix(leader, "https://") {
		return usagef("leader API address %q: want http(s)://host:port", leader)
	}
	caCert := c.caCert
	if strings.HasPrefix(caCert, "@") {
		b, err := readFileLimited(caCert[1:])
		if err != nil {
			return fmt.Errorf("leader CA certificate: %w", err)
		}
		caCert = string(b)
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	joined, err := cl.Raft().Join(cmd.Context(), &client.RaftJoinRequest{LeaderAPIAddr: leader, LeaderCACert: caCert, NonVoter: c.nonVoter})
	if err != nil {
		return fmt.Errorf("joining raft cluster: %w", err)
	}
	doc := document{Value: map[string]bool{"joined": joined}, Sections: []section{keyValueSection("", []field{{"Joined", joined}})}}
	if err := p.print(doc); err != nil {
		return err
	}
	if !joined {
		return &exitError{code: ExitError, msg: "Error: the node did not join the cluster"}
	}
	return nil
}
