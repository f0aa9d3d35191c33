package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// raftListPeersCmd is `vaultctl operator raft list-peers`.
type raftListPeersCmd struct{ app *app }

func newRaftListPeersCmd(a *app) *cobra.Command {
	c := &raftListPeersCmd{app: a}
	return &cobra.Command{
		Use:   "list-peers",
		Short: "List the servers of the raft cluster (needs a root token)",
		Long: `Lists the servers of the raft configuration: node id, cluster address,
state (leader or follower) and whether the server votes. With -format=json
or yaml the answer keeps Vault's shape, {"data":{"config":{"servers":[...]}}}.`,
		Args: noArgs,
		RunE: c.run,
	}
}

func (c *raftListPeersCmd) run(cmd *cobra.Command, _ []string) error {
	_, err := fetchAndPrint(cmd.Context(), c.app, "listing raft peers", raftPeers, peersDocument)
	return err
}

func raftPeers(ctx context.Context, cl *client.Client) ([]client.RaftPeer, error) {
	return cl.Raft().Peers(ctx)
}

// peersOutput is the json/yaml form of list-peers, as Vault's envelope.
type peersOutput struct {
	Data struct {
		Config struct {
			Servers []client.RaftPeer `json:"servers"`
		} `json:"config"`
	} `json:"data"`
}

// peersDocument renders peers as `vault operator raft list-peers` does.
func peersDocument(peers []client.RaftPeer) document {
	var out peersOutput
	out.Data.Config.Servers = peers
	if peers == nil {
		out.Data.Config.Servers = []client.RaftPeer{}
	}
	rows := make([][]string, len(peers))
	for i, s := range peers {
		state := "follower"
		if s.Leader {
			state = "leader"
		}
		rows[i] = []string{s.NodeID, s.Address, state, strconv.FormatBool(s.Voter)}
	}
	return document{Value: out, Sections: []section{{Header: []string{"Node", "Address", "State", "Voter"}, Rows: rows}}}
}
