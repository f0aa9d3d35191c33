package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// listCmd is `vaultctl list`.
type listCmd struct{ app *app }

func newListCmd(a *app) *cobra.Command {
	c := &listCmd{app: a}
	return &cobra.Command{
		Use:   "list PATH",
		Short: "List the keys under a path (LIST /v1/PATH)",
		Long:  "Lists the keys under PATH; folders end in \"/\". Exit code 2 when there are none.",
		Args:  exactArgs(1),
		RunE:  c.run,
	}
}

func (c *listCmd) run(cmd *cobra.Command, args []string) error {
	p, cl, err := c.app.session()
	if err != nil {
		return err
	}
	s, err := cl.List(cmd.Context(), args[0])
	if errors.Is(err, client.ErrNotFound) {
		return noValueAt(args[0])
	}
	if err != nil {
		return fmt.Errorf("listing %s: %w", args[0], err)
	}
	keys := s.Keys()
	if len(keys) == 0 {
		return noValueAt(args[0])
	}
	return p.print(keysDocument(keys))
}

// keysDocument renders a listing: a "Keys" column, or a JSON array.
func keysDocument(keys []string) document {
	rows := make([][]string, len(keys))
	for i, k := range keys {
		rows[i] = []string{k}
	}
	return document{Value: keys, Sections: []section{{Header: []string{"Keys"}, Rows: rows}}}
}
